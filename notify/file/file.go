// Package file is a notifier that appends one JSON line per message to a
// file (fsynced), for demos and installations without Slack or
// PagerDuty. It remembers the keys already written (reading the file when
// it starts) and skips a message it already has, so resends are
// harmless. Each message is also logged as a one-line human summary.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/slokeeper/slokeeper/notify"
)

// Receipt keys.
const (
	ReceiptPath = "path"
	ReceiptLine = "line" // 1-based line number of the message in the file
)

// maxLine bounds one line when reading the file back.
const maxLine = 16 << 20

// Config configures the notifier.
type Config struct {
	// Path of the file; created (0600) if missing.
	Path string
	// Logger receives the one-line summaries; slog.Default() if nil.
	Logger *slog.Logger
}

// Record is one line of the file.
type Record struct {
	notify.Message
	WrittenAt time.Time `json:"written_at"`
}

// Notifier appends messages to a file. It is safe for concurrent use.
type Notifier struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	f     *os.File
	keys  map[string]int // key -> line
	lines int
	size  int64 // bytes of complete records; a failed write is cut back to it
}

var _ notify.Notifier = (*Notifier)(nil)

// New opens (or creates) the file and reads the keys already in it. A
// last line cut short by a crash is removed; other unreadable lines are
// an error.
func New(cfg Config) (*Notifier, error) {
	if cfg.Path == "" {
		return nil, errors.New("file notifier: path is empty")
	}
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("file notifier: opening %s: %w", cfg.Path, err)
	}
	n := &Notifier{path: cfg.Path, log: cfg.Logger, f: f, keys: map[string]int{}}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("notifier", "file")
	if err := n.load(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return n, nil
}

func (n *Notifier) load() error {
	if _, err := n.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("file notifier: reading %s: %w", n.path, err)
	}
	r := bufio.NewReaderSize(n.f, 64<<10)
	var offset int64
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > maxLine {
			return fmt.Errorf("file notifier: %s:%d: line longer than %d bytes", n.path, n.lines+1, maxLine)
		}
		if err == io.EOF && len(line) > 0 {
			// A last line without its newline is the tail of a write cut
			// short by a crash: the message was not recorded, drop it.
			n.log.Warn("dropping an incomplete last line", "path", n.path, "bytes", len(line))
			if terr := n.f.Truncate(offset); terr != nil {
				return fmt.Errorf("file notifier: repairing %s: %w", n.path, terr)
			}
			if serr := n.f.Sync(); serr != nil {
				return fmt.Errorf("file notifier: syncing %s: %w", n.path, serr)
			}
			break
		}
		if len(line) > 0 {
			n.lines++
			if len(bytes.TrimSpace(line)) > 0 {
				var rec struct {
					Key string `json:"key"`
				}
				if jerr := json.Unmarshal(line, &rec); jerr != nil || rec.Key == "" {
					return fmt.Errorf("file notifier: %s:%d: not a notification record", n.path, n.lines)
				}
				n.keys[rec.Key] = n.lines
			}
			offset += int64(len(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("file notifier: reading %s: %w", n.path, err)
		}
	}
	n.size = offset
	return nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return "file" }

// Send implements notify.Notifier.
func (n *Notifier) Send(ctx context.Context, m notify.Message, _ notify.Receipt) (notify.Receipt, error) {
	if err := m.Validate(); err != nil {
		return nil, notify.Permanent(fmt.Errorf("file notifier: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return nil, notify.Retry(0, fmt.Errorf("file notifier: %w", err))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.f == nil {
		return nil, notify.Permanent(errors.New("file notifier: closed"))
	}
	if line, ok := n.keys[m.Key]; ok {
		n.log.Debug("notification already written", "key", m.Key, "line", line)
		return n.receipt(line), nil
	}
	data, err := json.Marshal(Record{Message: m, WrittenAt: time.Now().UTC()})
	if err != nil {
		return nil, notify.Permanent(fmt.Errorf("file notifier: encoding %q: %w", m.Key, err))
	}
	data = append(data, '\n')
	if _, err := n.f.Write(data); err != nil {
		_ = n.f.Truncate(n.size) // do not leave half a record behind
		return nil, notify.Retry(0, fmt.Errorf("file notifier: writing %s: %w", n.path, err))
	}
	if err := n.f.Sync(); err != nil {
		_ = n.f.Truncate(n.size)
		return nil, notify.Retry(0, fmt.Errorf("file notifier: syncing %s: %w", n.path, err))
	}
	n.size += int64(len(data))
	n.lines++
	n.keys[m.Key] = n.lines
	n.log.Info(notify.Summary(m), "key", m.Key, "kind", m.Kind, "service", m.Service, "episode", m.Episode)
	return n.receipt(n.lines), nil
}

func (n *Notifier) receipt(line int) notify.Receipt {
	return notify.Receipt{ReceiptPath: n.path, ReceiptLine: strconv.Itoa(line)}
}

// Close closes the file.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.f == nil {
		return nil
	}
	err := n.f.Close()
	n.f = nil
	if err != nil {
		return fmt.Errorf("file notifier: closing %s: %w", n.path, err)
	}
	return nil
}
