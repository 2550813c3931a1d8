package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's Block Kit limits.
const (
	SlackMaxBlocks      = 50
	SlackMaxSectionText = 3000
	slackMaxHeaderText  = 150
)

var levelEmoji = map[string]string{
	RiskCritical: ":red_circle:",
	RiskHigh:     ":large_orange_circle:",
	RiskElevated: ":large_yellow_circle:",
	RiskOK:       ":large_green_circle:",
	RiskUnknown:  ":white_circle:",
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// SlackText is the digest's plain-text fallback (notifications, clients
// without blocks).
func (r *Review) SlackText() string {
	var n [5]int
	for _, s := range r.Services {
		n[riskRank(s.Risk.Level)]++
	}
	return fmt.Sprintf("%s: %d service(s), %d critical, %d high, %d elevated", r.Title(), len(r.Services), n[4], n[3], n[2])
}

// SlackBlocks is the digest as Block Kit blocks, within Slack's limits (at
// most 50 blocks, section texts of at most 3000 characters), services by
// risk, with a button to reportURL when it is not empty.
func (r *Review) SlackBlocks(reportURL string) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cut(r.Title(), slackMaxHeaderText), false, false)),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, slackEscape(fmt.Sprintf("%s – %s (%s). %s",
			r.fmtTime(r.From), r.fmtTime(r.To), r.TimeZone, r.SlackText())), false, false)),
		slack.NewDividerBlock(),
	}
	reserve := 1 // the "more" note
	if reportURL != "" {
		reserve++
	}
	if len(r.Services) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "No SLO data in Prometheus for this period.", false, false), nil, nil))
	}
	for i, s := range r.Services {
		if len(blocks)+reserve >= SlackMaxBlocks {
			more := fmt.Sprintf("…and %d more service(s), all at lower risk; see the full report.", len(r.Services)-i)
			blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, more, false, false)))
			break
		}
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, r.slackService(s), false, false), nil, nil))
	}
	if reportURL != "" {
		btn := slack.NewButtonBlockElement("open_report", "report", slack.NewTextBlockObject(slack.PlainTextType, "Open the full report", false, false))
		btn.URL = reportURL
		blocks = append(blocks, slack.NewActionBlock("report", btn))
	}
	return blocks
}

func (r *Review) slackService(s ServiceReview) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s* · %s", levelEmoji[s.Risk.Level], slackEscape(s.Service), s.Risk.Level)
	if s.Team != "" {
		fmt.Fprintf(&b, " · team %s", slackEscape(s.Team))
	}
	if s.FrozenFor > 0 {
		fmt.Fprintf(&b, " · frozen %s", FormatDuration(time.Duration(s.FrozenFor)))
	}
	lines := 0
	for _, o := range s.SLOs {
		line := fmt.Sprintf("\n• %s (%s): budget %s → %s, consumed %s (sustainable %s), %s; %d alert(s)",
			slackEscape(o.title()), slackEscape(o.objectiveText()), pct(o.BudgetStart), pct(o.BudgetEnd),
			pct(o.Consumed), pct(&o.IdealConsumed), trendShort(o.Trend), o.AlertsFired)
		if o.FiringFor > 0 {
			line += " firing " + FormatDuration(time.Duration(o.FiringFor))
		}
		rest := fmt.Sprintf("\n…and %d more SLO(s)", len(s.SLOs)-lines)
		if utf8.RuneCountInString(b.String()+line+rest) > SlackMaxSectionText {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(line)
		lines++
	}
	return cut(b.String(), SlackMaxSectionText)
}

// SlackSender posts the digest with a bot token (chat.postMessage) or to an
// incoming webhook.
type SlackSender struct {
	// Token and Channel for chat.postMessage; or WebhookURL.
	Token, Channel string
	WebhookURL     string
	// APIURL overrides Slack's API base URL (tests); empty means Slack's.
	APIURL string
	// HTTPClient defaults to an http.Client with a 30s timeout.
	HTTPClient *http.Client
}

// Send posts the digest of r, linking to reportURL when not empty.
func (s SlackSender) Send(ctx context.Context, r *Review, reportURL string) error {
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	blocks := r.SlackBlocks(reportURL)
	text := r.SlackText()
	switch {
	case s.WebhookURL != "":
		msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
		if err := slack.PostWebhookCustomHTTPContext(ctx, s.WebhookURL, hc, msg); err != nil {
			return fmt.Errorf("posting the report digest to the Slack webhook: %w", redact(err, s.WebhookURL))
		}
		return nil
	case s.Token != "" && s.Channel != "":
		opts := []slack.Option{slack.OptionHTTPClient(hc)}
		if s.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(strings.TrimSuffix(s.APIURL, "/")+"/"))
		}
		api := slack.New(s.Token, opts...)
		if _, _, err := api.PostMessageContext(ctx, s.Channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
			return fmt.Errorf("posting the report digest to Slack channel %s: %w", s.Channel, redact(err, s.Token))
		}
		return nil
	}
	return errors.New("posting the report digest: Slack needs a webhook URL, or a token and a channel")
}

// redact removes a secret (token, webhook URL) from an error message.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

func trendShort(t Trend) string {
	if t == TrendNoData {
		return "no previous week to compare"
	}
	if t == TrendFlat {
		return "steady against the previous week"
	}
	return string(t) + " than the previous week"
}
