package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// knownBlockType reports whether t is a Block Kit layout block Slack
// accepts in messages; the ones slokeeper uses are checked in depth.
func knownBlockType(t string) bool {
	switch t {
	case "header", "section", "divider", "context", "actions", "image",
		"rich_text", "markdown", "file", "video", "input", "table":
		return true
	}
	return false
}

// ValidateBlocks checks a JSON array of Block Kit blocks against Slack's
// documented shape and limits: at most 50 blocks, unique block_ids of at
// most 255 characters, header text plain_text of at most 150 characters,
// section text of at most 3000 and at most 10 fields of at most 2000,
// context with 1 to 10 elements, actions with 1 to 25 elements, buttons
// with plain_text of at most 75 characters and URLs of at most 3000.
func ValidateBlocks(raw []byte) error {
	var blocks []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Errorf("blocks is not an array of objects: %w", err)
	}
	if len(blocks) > MaxBlocks {
		return fmt.Errorf("%d blocks (max %d)", len(blocks), MaxBlocks)
	}
	blockIDs := map[string]bool{}
	actionIDs := map[string]bool{}
	for i, b := range blocks {
		if err := validateBlock(b, blockIDs, actionIDs); err != nil {
			return fmt.Errorf("blocks[%d]: %w", i, err)
		}
	}
	return nil
}

func str(obj map[string]json.RawMessage, key string) (string, bool, error) {
	raw, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("%s is not a string", key)
	}
	return s, true, nil
}

func validateBlock(b map[string]json.RawMessage, blockIDs, actionIDs map[string]bool) error {
	typ, ok, err := str(b, "type")
	if err != nil || !ok {
		return errors.New("missing type")
	}
	if !knownBlockType(typ) {
		return fmt.Errorf("unknown block type %q", typ)
	}
	if id, ok, err := str(b, "block_id"); err != nil {
		return err
	} else if ok {
		if id == "" || utf8.RuneCountInString(id) > MaxBlockID {
			return fmt.Errorf("block_id must have 1 to %d characters", MaxBlockID)
		}
		if blockIDs[id] {
			return fmt.Errorf("duplicate block_id %q", id)
		}
		blockIDs[id] = true
	}
	switch typ {
	case "header":
		if _, err := textObject(b["text"], MaxHeaderText, true); err != nil {
			return fmt.Errorf("header text: %w", err)
		}
	case "section":
		_, hasText := b["text"]
		_, hasFields := b["fields"]
		if !hasText && !hasFields {
			return errors.New("section needs text or fields")
		}
		if hasText {
			if _, err := textObject(b["text"], MaxSectionText, false); err != nil {
				return fmt.Errorf("section text: %w", err)
			}
		}
		if hasFields {
			var fields []json.RawMessage
			if err := json.Unmarshal(b["fields"], &fields); err != nil {
				return errors.New("section fields is not an array")
			}
			if len(fields) == 0 || len(fields) > MaxSectionFields {
				return fmt.Errorf("section has %d fields (1 to %d)", len(fields), MaxSectionFields)
			}
			for j, f := range fields {
				if _, err := textObject(f, MaxFieldText, false); err != nil {
					return fmt.Errorf("section fields[%d]: %w", j, err)
				}
			}
		}
		if acc, ok := b["accessory"]; ok {
			if err := validateElement(acc, actionIDs); err != nil {
				return fmt.Errorf("section accessory: %w", err)
			}
		}
	case "divider":
	case "context":
		var els []json.RawMessage
		if err := json.Unmarshal(b["elements"], &els); err != nil {
			return errors.New("context elements is not an array")
		}
		if len(els) == 0 || len(els) > MaxContextElements {
			return fmt.Errorf("context has %d elements (1 to %d)", len(els), MaxContextElements)
		}
		for j, e := range els {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(e, &obj); err != nil {
				return fmt.Errorf("context elements[%d] is not an object", j)
			}
			if t, _, _ := str(obj, "type"); t == "image" {
				if err := validateImage(obj); err != nil {
					return fmt.Errorf("context elements[%d]: %w", j, err)
				}
				continue
			}
			if _, err := textObject(e, MaxSectionText, false); err != nil {
				return fmt.Errorf("context elements[%d]: %w", j, err)
			}
		}
	case "actions":
		var els []json.RawMessage
		if err := json.Unmarshal(b["elements"], &els); err != nil {
			return errors.New("actions elements is not an array")
		}
		if len(els) == 0 || len(els) > MaxActionsElements {
			return fmt.Errorf("actions has %d elements (1 to %d)", len(els), MaxActionsElements)
		}
		for j, e := range els {
			if err := validateElement(e, actionIDs); err != nil {
				return fmt.Errorf("actions elements[%d]: %w", j, err)
			}
		}
	case "image":
		if err := validateImage(b); err != nil {
			return err
		}
	}
	return nil
}

func validateImage(obj map[string]json.RawMessage) error {
	u, ok, err := str(obj, "image_url")
	if err != nil || !ok || u == "" {
		if _, hasFile := obj["slack_file"]; !hasFile {
			return errors.New("image needs image_url or slack_file")
		}
	}
	if utf8.RuneCountInString(u) > MaxURL {
		return fmt.Errorf("image_url longer than %d characters", MaxURL)
	}
	if alt, ok, err := str(obj, "alt_text"); err != nil || !ok || alt == "" {
		return errors.New("image needs alt_text")
	}
	return nil
}

// textObject checks a composition text object and returns its text.
func textObject(raw json.RawMessage, maxLen int, plainOnly bool) (string, error) {
	if raw == nil {
		return "", errors.New("missing text object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("text object is not an object")
	}
	typ, _, _ := str(obj, "type")
	switch {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	case plainOnly:
		return "", fmt.Errorf("text type %q, want plain_text", typ)
	default:
		return "", fmt.Errorf("text type %q, want plain_text or mrkdwn", typ)
	}
	text, ok, err := str(obj, "text")
	if err != nil || !ok || text == "" {
		return "", errors.New("text object has no text")
	}
	if n := utf8.RuneCountInString(text); n > maxLen {
		return "", fmt.Errorf("text has %d characters (max %d)", n, maxLen)
	}
	return text, nil
}

func validateElement(raw json.RawMessage, actionIDs map[string]bool) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return errors.New("element is not an object")
	}
	typ, ok, err := str(obj, "type")
	if err != nil || !ok || typ == "" {
		return errors.New("element without type")
	}
	if id, ok, err := str(obj, "action_id"); err != nil {
		return err
	} else if ok {
		if id == "" || utf8.RuneCountInString(id) > MaxActionID {
			return fmt.Errorf("action_id must have 1 to %d characters", MaxActionID)
		}
		if actionIDs[id] {
			return fmt.Errorf("duplicate action_id %q", id)
		}
		actionIDs[id] = true
	}
	switch typ {
	case "button":
		if _, err := textObject(obj["text"], MaxButtonText, true); err != nil {
			return fmt.Errorf("button text: %w", err)
		}
		if u, _, err := str(obj, "url"); err != nil {
			return err
		} else if utf8.RuneCountInString(u) > MaxURL {
			return fmt.Errorf("button url longer than %d characters", MaxURL)
		}
		if v, _, err := str(obj, "value"); err != nil {
			return err
		} else if utf8.RuneCountInString(v) > MaxFieldText {
			return fmt.Errorf("button value longer than %d characters", MaxFieldText)
		}
	case "image":
		return validateImage(obj)
	}
	return nil
}

func validateAttachments(raw []byte) error {
	var atts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &atts); err != nil {
		return fmt.Errorf("attachments is not an array of objects: %w", err)
	}
	if len(atts) > MaxAttachments {
		return fmt.Errorf("%d attachments (max %d)", len(atts), MaxAttachments)
	}
	for i, a := range atts {
		for _, k := range []string{"fallback", "color", "pretext", "title", "title_link", "text", "footer", "callback_id"} {
			if _, _, err := str(a, k); err != nil {
				return fmt.Errorf("attachments[%d]: %w", i, err)
			}
		}
		if b, ok := a["blocks"]; ok {
			if err := ValidateBlocks(b); err != nil {
				return fmt.Errorf("attachments[%d]: %w", i, err)
			}
		}
	}
	return nil
}
