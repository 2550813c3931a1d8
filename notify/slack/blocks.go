package slack

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/slokeeper/slokeeper/notify"
)

// Slack's Block Kit limits.
const (
	maxBlocks        = 50
	maxHeaderText    = 150
	maxSectionText   = 3000
	maxSectionFields = 10
	maxFieldText     = 2000
	maxButtonText    = 75
	maxURL           = 3000
	maxFallbackText  = 3000
	maxSLOName       = 200 // so a link is never cut by the section limit
)

func headerEmoji(k notify.Kind) string {
	switch k {
	case notify.FreezeStarted:
		return ":no_entry:"
	case notify.FreezeLifted:
		return ":white_check_mark:"
	case notify.BudgetWarning:
		return ":warning:"
	case notify.WarningCleared:
		return ":large_green_circle:"
	case notify.ManualFreeze:
		return ":lock:"
	case notify.ManualUnfreeze:
		return ":unlock:"
	case notify.ExemptionUsed:
		return ":ticket:"
	}
	return ":information_source:"
}

// escape makes user text safe inside mrkdwn (Slack's three escapes).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// link renders a mrkdwn link, or just the label when the URL is unusable.
func link(u, label string) string {
	if u == "" || len(u) > maxURL || strings.ContainsAny(u, "|<> \n") ||
		!(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return escape(label)
	}
	return "<" + u + "|" + escape(label) + ">"
}

func usableURL(u string) bool {
	return u != "" && len(u) <= maxURL && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"))
}

// slackDate renders t with Slack's date formatting (shown in the reader's
// time zone) and a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func mrkdwn(s string, maxLen int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, notify.Truncate(s, maxLen), false, false)
}

func plain(s string, maxLen int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, notify.Truncate(s, maxLen), true, false)
}

// buildMessage renders m as Block Kit blocks (at most 50, every text within
// Slack's limits) and the plain fallback text. compact leaves out the
// header, links and context (a reply in the episode's thread).
func buildMessage(m notify.Message, uiURL string, compact bool) ([]slack.Block, string) {
	var head []slack.Block
	if !compact {
		head = append(head, slack.NewHeaderBlock(plain(headerEmoji(m.Kind)+" "+notify.Headline(m), maxHeaderText)))
	}
	head = append(head, slack.NewSectionBlock(mrkdwn(summaryText(m, compact), maxSectionText), nil, nil))
	if len(m.Reasons) > 0 {
		var b strings.Builder
		b.WriteString("*Reasons*")
		for _, r := range m.Reasons {
			b.WriteString("\n• " + escape(r))
		}
		head = append(head, slack.NewSectionBlock(mrkdwn(b.String(), maxSectionText), nil, nil))
	}
	var tail []slack.Block
	if !compact {
		if ctx := contextBlock(m, uiURL); ctx != nil {
			tail = append(tail, ctx)
		}
		if act := actionsBlock(m, uiURL); act != nil {
			tail = append(tail, act)
		}
	}
	blocks := head
	if len(m.SLOs) > 0 {
		blocks = append(blocks, slack.NewDividerBlock())
		blocks = append(blocks, sloBlocks(m.SLOs, maxBlocks-len(blocks)-len(tail))...)
	}
	blocks = append(blocks, tail...)
	return blocks, notify.Truncate(fallbackText(m), maxFallbackText)
}

func summaryText(m notify.Message, compact bool) string {
	var lines []string
	if compact {
		lines = append(lines, "*"+escape(notify.Headline(m))+"*")
	}
	lines = append(lines, "*Service:* `"+escape(m.Service)+"`")
	if len(m.Sources) > 0 {
		lines = append(lines, "*Sources:* "+escape(strings.Join(m.Sources, ", ")))
	}
	at := "*Since:* "
	switch m.Kind {
	case notify.FreezeLifted, notify.ManualUnfreeze, notify.WarningCleared:
		at = "*Lifted:* "
	case notify.ExemptionUsed:
		at = "*At:* "
	}
	lines = append(lines, at+slackDate(m.At))
	if m.Until != nil {
		lines = append(lines, "*Until:* "+slackDate(*m.Until))
	}
	if m.Author != "" {
		lines = append(lines, "*By:* "+escape(m.Author))
	}
	if m.Exemption != "" {
		lines = append(lines, "*Exemption:* "+escape(m.Exemption))
	}
	if m.Change != "" {
		lines = append(lines, "*Change:* "+escape(m.Change))
	}
	return strings.Join(lines, "\n")
}

func fallbackText(m notify.Message) string {
	s := notify.Summary(m)
	if len(m.SLOs) > 0 {
		parts := make([]string, 0, len(m.SLOs))
		for _, l := range m.SLOs {
			parts = append(parts, l.Name+" budget "+notify.FormatBudget(l.BudgetRemaining))
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return escape(s)
}

// worstFirst orders SLOs by remaining budget, unknown last, so that the
// ones cut when there are too many are the healthiest.
func worstFirst(slos []notify.SLOLine) []notify.SLOLine {
	out := append([]notify.SLOLine(nil), slos...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].BudgetRemaining, out[j].BudgetRemaining
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil
		default:
			return *a < *b
		}
	})
	return out
}

// sloBlocks renders one section per SLO within room blocks; when they do
// not fit, the last block says how many more there are.
func sloBlocks(slos []notify.SLOLine, room int) []slack.Block {
	if room <= 0 {
		return nil
	}
	ordered := worstFirst(slos)
	shown := ordered
	if len(ordered) > room {
		shown = ordered[:room-1]
	}
	out := make([]slack.Block, 0, len(shown)+1)
	for _, l := range shown {
		out = append(out, sloSection(l))
	}
	if rest := ordered[len(shown):]; len(rest) > 0 {
		names := make([]string, 0, len(rest))
		for _, l := range rest {
			names = append(names, escape(l.Name))
		}
		text := fmt.Sprintf("…and %d more SLOs: %s", len(rest), strings.Join(names, ", "))
		out = append(out, slack.NewSectionBlock(mrkdwn(text, maxSectionText), nil, nil))
	}
	return out
}

func sloSection(l notify.SLOLine) slack.Block {
	title := "*" + link(l.DashboardURL, notify.Truncate(l.Name, maxSLOName)) + "* · objective " + notify.FormatPercent(l.Objective)
	if usableURL(l.RunbookURL) {
		title += " · " + link(l.RunbookURL, "runbook")
	}
	fields := []*slack.TextBlockObject{mrkdwn("*Budget remaining*\n"+notify.FormatBudget(l.BudgetRemaining), maxFieldText)}
	windows := notify.SortedWindows(l.BurnRates)
	for i, w := range windows {
		if len(fields) == maxSectionFields-1 && i < len(windows)-1 {
			fields = append(fields, mrkdwn(fmt.Sprintf("*Burn*\n…%d more windows", len(windows)-i), maxFieldText))
			break
		}
		fields = append(fields, mrkdwn("*Burn "+escape(w)+"*\n"+notify.FormatBurn(l.BurnRates[w]), maxFieldText))
	}
	return slack.NewSectionBlock(mrkdwn(title, maxSectionText), fields, nil)
}

func contextBlock(m notify.Message, uiURL string) slack.Block {
	parts := []string{"slokeeper"}
	if m.Episode != "" {
		parts = append(parts, "episode `"+escape(m.Episode)+"`")
	}
	if usableURL(uiURL) {
		parts = append(parts, link(uiURL, "open in slokeeper"))
	}
	return slack.NewContextBlock("", mrkdwn(strings.Join(parts, " · "), maxSectionText))
}

func actionsBlock(m notify.Message, uiURL string) slack.Block {
	var els []slack.BlockElement
	add := func(id, label, u string) {
		if usableURL(u) {
			els = append(els, slack.NewButtonBlockElement(id, "", plain(label, maxButtonText)).WithURL(u))
		}
	}
	add("slokeeper_dashboard", "Dashboard", m.DashboardURL)
	for _, l := range m.SLOs {
		if usableURL(l.RunbookURL) {
			add("slokeeper_runbook", "Runbook", l.RunbookURL)
			break
		}
	}
	add("slokeeper_ui", "Open in slokeeper", uiURL)
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("", els...)
}
