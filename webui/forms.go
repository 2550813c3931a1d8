package webui

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the freeze form's fields.
const (
	maxAuthor = 100
	maxReason = 500
	// untilLayout is what <input type="datetime-local"> posts; the page
	// says the time is UTC.
	untilLayout        = "2006-01-02T15:04"
	untilLayoutSeconds = "2006-01-02T15:04:05"
)

func (u *ui) freeze(w http.ResponseWriter, r *http.Request) {
	u.handleFreeze(w, r, "freeze")
}

func (u *ui) unfreeze(w http.ResponseWriter, r *http.Request) {
	u.handleFreeze(w, r, "unfreeze")
}

// handleFreeze applies a posted freeze or unfreeze form, then redirects to
// the service page (post/redirect/get); on an error it shows the service
// page again with the error and the fields as typed, but never the token.
func (u *ui) handleFreeze(w http.ResponseWriter, r *http.Request, action string) {
	service := r.PathValue("name")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	form := freezeForm{Action: action}
	if err := r.ParseForm(); err != nil {
		form.Error = "The form could not be read."
		u.renderService(w, r, http.StatusBadRequest, service, "", form)
		return
	}
	token := r.PostForm.Get("token")
	form.Reason = strings.TrimSpace(r.PostForm.Get("reason"))
	form.Author = strings.TrimSpace(r.PostForm.Get("author"))
	form.Until = strings.TrimSpace(r.PostForm.Get("until"))

	until, problem := u.checkFreezeForm(action, token, form)
	if problem != "" {
		form.Error = problem
		u.renderService(w, r, http.StatusBadRequest, service, "", form)
		return
	}
	var err error
	if action == "freeze" {
		err = u.b.StartFreeze(r.Context(), token, FreezeRequest{Service: service, Reason: form.Reason, Author: form.Author, Until: until})
	} else {
		err = u.b.StopFreeze(r.Context(), token, UnfreezeRequest{Service: service, Reason: form.Reason, Author: form.Author})
	}
	switch {
	case err == nil:
		u.log.InfoContext(r.Context(), "manual freeze change from the web UI", "action", action, "service", service, "author", form.Author, "reason", form.Reason)
		http.Redirect(w, r, u.serviceURL(service)+"?done="+action, http.StatusSeeOther)
		return
	case errors.Is(err, ErrUnauthorized):
		u.log.WarnContext(r.Context(), "manual freeze change refused: invalid token", "action", action, "service", service, "author", form.Author)
		form.Error = "The freeze token is not valid. Nothing was changed."
		u.renderService(w, r, http.StatusUnauthorized, service, "", form)
	case errors.Is(err, ErrInvalid):
		form.Error = err.Error()
		u.renderService(w, r, http.StatusBadRequest, service, "", form)
	default:
		u.log.ErrorContext(r.Context(), "manual freeze change failed", "action", action, "service", service, "err", err)
		form.Error = "The change could not be applied; the error is in the daemon's log."
		u.renderService(w, r, http.StatusInternalServerError, service, "", form)
	}
}

// checkFreezeForm validates the fields; it returns the expiry and a
// message for the user when a field is wrong.
func (u *ui) checkFreezeForm(action, token string, f freezeForm) (time.Time, string) {
	switch {
	case token == "":
		return time.Time{}, "The freeze token is required."
	case f.Author == "":
		return time.Time{}, "Your name is required."
	case f.Reason == "":
		return time.Time{}, "A reason is required."
	case !utf8.ValidString(f.Author) || !utf8.ValidString(f.Reason) || !utf8.ValidString(token):
		return time.Time{}, "The form contains invalid text."
	case utf8.RuneCountInString(f.Author) > maxAuthor:
		return time.Time{}, "The name is longer than 100 characters."
	case utf8.RuneCountInString(f.Reason) > maxReason:
		return time.Time{}, "The reason is longer than 500 characters."
	case strings.ContainsFunc(f.Author+f.Reason, unicode.IsControl):
		return time.Time{}, "The name and the reason must be single lines of text."
	}
	if action != "freeze" || f.Until == "" {
		return time.Time{}, ""
	}
	until, err := time.ParseInLocation(untilLayout, f.Until, time.UTC)
	if err != nil {
		until, err = time.ParseInLocation(untilLayoutSeconds, f.Until, time.UTC)
	}
	if err != nil {
		return time.Time{}, "The end time must be a date and time such as 2026-05-01T18:00 (UTC)."
	}
	if !until.After(u.now()) {
		return time.Time{}, "The end time is in the past."
	}
	return until, ""
}
