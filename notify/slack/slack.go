// Package slack announces change freezes in Slack.
//
// With a bot token it posts Block Kit messages with chat.postMessage: the
// first message of a freeze episode is a top-level message, later messages
// of the episode are replies in its thread, and the lift also rewrites the
// first message (chat.update) to show the freeze is over. Every message
// carries Slack message metadata (event_type "slokeeper_notification",
// payload with the idempotency key); before posting, Send looks for a
// message with that key among the channel's (or thread's) recent messages
// and does not post it again, so a resend after a crash does not
// duplicate it.
//
// The lookup reads at most a few pages of conversations.history (or
// conversations.replies for a thread) since m.At minus Lookback: one or
// two Tier 3 calls per message. Apps distributed outside the Slack
// Marketplace to other workspaces have much lower limits on these methods;
// slokeeper's bot is meant to be an internal app.
//
// With only an incoming-webhook URL it posts the same blocks to the
// webhook; webhooks can neither update nor look up messages, so the lift
// is a new message and a resend after a crash may duplicate it.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/slokeeper/slokeeper/notify"
)

// MetadataEventType is the event_type of the metadata attached to every
// message slokeeper posts.
const MetadataEventType = "slokeeper_notification"

// Receipt keys.
const (
	ReceiptChannel   = "channel"    // channel ID of the episode's thread
	ReceiptTS        = "ts"         // ts of the episode's first message (the thread root)
	ReceiptMessageTS = "message_ts" // ts of the message this Send posted (or found)
	ReceiptVia       = "via"        // "api" or "webhook"
)

// Defaults.
const (
	DefaultAPIURL   = "https://slack.com/api/"
	DefaultTimeout  = 15 * time.Second
	DefaultLookback = time.Hour
	lookupPageSize  = 200
	lookupMaxPages  = 3
)

var channelIDRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)

// Config configures the notifier. Token and Channel, or WebhookURL, are
// required; with both, the Web API is used.
type Config struct {
	// Token is the bot token (xoxb-...), needing chat:write and
	// channels:history (groups:history for private channels).
	Token string
	// Channel is the channel ID (C0123ABCD, not #name):
	// conversations.history and chat.update only take IDs.
	Channel string
	// WebhookURL is an incoming-webhook URL, used when Token is empty.
	WebhookURL string
	// APIURL overrides the Web API base URL (tests); DefaultAPIURL if empty.
	APIURL string
	// HTTPClient is used for every request; a client with Timeout
	// (DefaultTimeout) if nil.
	HTTPClient *http.Client
	// Timeout applies when HTTPClient is nil.
	Timeout time.Duration
	// Logger receives one line per message sent; slog.Default() if nil.
	Logger *slog.Logger
	// UIURL is slokeeper's web UI, linked from messages.
	UIURL string
	// Lookback is how far before a message's time Send looks for an
	// earlier post of it (DefaultLookback if 0).
	Lookback time.Duration
}

// Notifier posts to Slack. It is safe for concurrent use.
type Notifier struct {
	cfg     Config
	api     *slack.Client
	httpc   *http.Client
	log     *slog.Logger
	secrets []string
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and returns a notifier. It does not contact Slack.
func New(cfg Config) (*Notifier, error) {
	if cfg.Token == "" && cfg.WebhookURL == "" {
		return nil, errors.New("slack: a bot token and channel, or a webhook URL, is required")
	}
	if cfg.Token != "" {
		if strings.ContainsAny(cfg.Token, " \t\r\n") {
			return nil, errors.New("slack: the bot token contains whitespace")
		}
		if !channelIDRE.MatchString(cfg.Channel) {
			return nil, fmt.Errorf("slack: channel %q is not a channel ID (like C0123ABCD): copy it from the channel details", cfg.Channel)
		}
	}
	if cfg.WebhookURL != "" {
		u, err := url.Parse(cfg.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("slack: the webhook URL is not an http(s) URL")
		}
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = DefaultLookback
	}
	n := &Notifier{cfg: cfg, httpc: cfg.HTTPClient, log: cfg.Logger}
	if n.httpc == nil {
		t := cfg.Timeout
		if t <= 0 {
			t = DefaultTimeout
		}
		n.httpc = &http.Client{Timeout: t}
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("notifier", "slack")
	n.secrets = []string{cfg.Token, cfg.WebhookURL}
	if u, err := url.Parse(cfg.WebhookURL); err == nil && cfg.WebhookURL != "" && u.Path != "" && u.Path != "/" {
		// The path of an incoming webhook is its secret.
		n.secrets = append(n.secrets, u.Path)
	}
	if cfg.Token != "" {
		n.api = slack.New(cfg.Token,
			slack.OptionAPIURL(cfg.APIURL),
			slack.OptionHTTPClient(n.httpc),
			slack.OptionLog(discardLogger{}),
		)
	}
	return n, nil
}

// discardLogger silences slack-go's own logger (it could print requests).
type discardLogger struct{}

func (discardLogger) Output(int, string) error { return nil }

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return "slack" }

// Send implements notify.Notifier.
func (n *Notifier) Send(ctx context.Context, m notify.Message, prior notify.Receipt) (notify.Receipt, error) {
	if err := m.Validate(); err != nil {
		return nil, notify.Permanent(fmt.Errorf("slack: %w", err))
	}
	if n.api == nil {
		return n.sendWebhook(ctx, m)
	}
	return n.sendAPI(ctx, m, prior)
}

func (n *Notifier) sendWebhook(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	blocks, text := buildMessage(m, n.cfg.UIURL, false)
	msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
	if err := slack.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL, n.httpc, msg); err != nil {
		return nil, n.classify("posting to the incoming webhook", err)
	}
	n.log.Info("slack notification sent", "key", m.Key, "kind", m.Kind, "service", m.Service, "via", "webhook", "summary", notify.Headline(m))
	return notify.Receipt{ReceiptVia: "webhook"}, nil
}

func (n *Notifier) sendAPI(ctx context.Context, m notify.Message, prior notify.Receipt) (notify.Receipt, error) {
	channel, root := n.cfg.Channel, ""
	if prior[ReceiptTS] != "" {
		root = prior[ReceiptTS]
		if prior[ReceiptChannel] != "" {
			channel = prior[ReceiptChannel]
		}
	}
	ts, found, err := n.findPosted(ctx, channel, root, m)
	if isSlackError(err, "thread_not_found") {
		n.log.Warn("slack thread of the episode is gone, posting a new message", "key", m.Key, "service", m.Service, "channel", channel, "thread_ts", root)
		root = ""
		ts, found, err = n.findPosted(ctx, channel, root, m)
	}
	if err != nil {
		return nil, n.classify("looking up earlier posts in "+channel, err)
	}
	if !found {
		blocks, text := buildMessage(m, n.cfg.UIURL, root != "" && m.Kind == notify.FreezeLifted)
		opts := []slack.MsgOption{
			slack.MsgOptionText(text, false),
			slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionMetadata(metadataFor(m)),
			slack.MsgOptionDisableLinkUnfurl(),
			slack.MsgOptionDisableMediaUnfurl(),
		}
		if root != "" {
			opts = append(opts, slack.MsgOptionTS(root))
		}
		respChannel, postedTS, perr := n.api.PostMessageContext(ctx, channel, opts...)
		if perr != nil {
			return nil, n.classify("posting to "+channel, perr)
		}
		if respChannel != "" {
			channel = respChannel
		}
		ts = postedTS
	}
	if m.Kind == notify.FreezeLifted && root != "" {
		if err := n.markLifted(ctx, channel, root, m); err != nil {
			return nil, err
		}
	}
	rootTS := root
	if rootTS == "" {
		rootTS = ts
	}
	n.log.Info("slack notification sent", "key", m.Key, "kind", m.Kind, "service", m.Service,
		"channel", channel, "ts", ts, "thread_ts", root, "already_posted", found, "summary", notify.Headline(m))
	return notify.Receipt{ReceiptChannel: channel, ReceiptTS: rootTS, ReceiptMessageTS: ts, ReceiptVia: "api"}, nil
}

// markLifted rewrites the episode's first message to show the lift. A
// message that is gone or can no longer be edited is logged, not failed:
// the lift was announced in the thread.
func (n *Notifier) markLifted(ctx context.Context, channel, root string, m notify.Message) error {
	blocks, text := buildMessage(m, n.cfg.UIURL, false)
	_, _, _, err := n.api.UpdateMessageContext(ctx, channel, root,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err == nil {
		return nil
	}
	cerr := n.classify("updating the episode's first message in "+channel, err)
	if notify.IsPermanent(cerr) {
		n.log.Warn("slack: could not mark the freeze message lifted", "key", m.Key, "service", m.Service, "channel", channel, "ts", root, "err", cerr)
		return nil
	}
	return cerr
}

func metadataFor(m notify.Message) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{
		"key": m.Key, "kind": string(m.Kind), "service": m.Service, "episode": m.Episode,
	}}
}

// slackTS renders t as a Slack timestamp ("1732400000.000000").
func slackTS(t time.Time) string {
	if t.Unix() <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// findPosted looks for a message carrying m's key among the recent
// messages of the channel (root == "") or of the thread root.
func (n *Notifier) findPosted(ctx context.Context, channel, root string, m notify.Message) (string, bool, error) {
	oldest := slackTS(m.At.Add(-n.cfg.Lookback))
	cursor := ""
	for range lookupMaxPages {
		var (
			msgs    []slack.Message
			hasMore bool
			next    string
			err     error
		)
		if root == "" {
			var resp *slack.GetConversationHistoryResponse
			resp, err = n.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: channel, Cursor: cursor, Limit: lookupPageSize, Oldest: oldest, IncludeAllMetadata: true,
			})
			if resp != nil {
				msgs, hasMore, next = resp.Messages, resp.HasMore, resp.ResponseMetaData.NextCursor
			}
		} else {
			msgs, hasMore, next, err = n.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: root, Cursor: cursor, Limit: lookupPageSize, Oldest: oldest, IncludeAllMetadata: true,
			})
		}
		if err != nil {
			return "", false, err
		}
		for _, msg := range msgs {
			if msg.Metadata.EventType == MetadataEventType && fmt.Sprint(msg.Metadata.EventPayload["key"]) == m.Key {
				return msg.Timestamp, true, nil
			}
		}
		if !hasMore || next == "" {
			break
		}
		cursor = next
	}
	return "", false, nil
}

func isSlackError(err error, codes ...string) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Err == c {
			return true
		}
	}
	return false
}

// classify maps a slack-go error to notify's retry classes, without
// secrets in the message.
func (n *Notifier) classify(op string, err error) error {
	wrapped := fmt.Errorf("slack: %s: %w", op, notify.RedactError(err, n.secrets...))
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return notify.Retry(rl.RetryAfter, wrapped)
	case errors.As(err, &sc):
		if sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout || sc.Code >= 500 {
			return notify.Retry(0, wrapped)
		}
		return notify.Permanent(wrapped)
	case errors.As(err, &se):
		switch se.Err {
		case "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
			"request_timeout", "team_added_to_org":
			return notify.Retry(0, wrapped)
		}
		return notify.Permanent(wrapped)
	default:
		// Timeouts, connection errors, unreadable answers: transient.
		return notify.Retry(0, wrapped)
	}
}
