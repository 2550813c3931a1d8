package dashboards

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Kind names a kind of generated dashboard; with the service it derives the
// dashboard's UID.
type Kind string

// Dashboard kinds. Per-service kinds take the service in UID; the others are
// one per Grafana.
const (
	KindSLO               Kind = "slo"
	KindRED               Kind = "red"
	KindOverview          Kind = "overview"
	KindNodes             Kind = "nodes"
	KindAPIServer         Kind = "apiserver"
	KindEtcd              Kind = "etcd"
	KindScheduler         Kind = "scheduler"
	KindControllerManager Kind = "controller-manager"
	KindCoreDNS           Kind = "coredns"
	KindIngressNginx      Kind = "ingress-nginx"
)

// MaxUIDLen is Grafana's limit on dashboard UIDs.
const MaxUIDLen = 40

// uidPrefix is the readable start of each kind's UIDs.
var uidPrefix = map[Kind]string{
	KindSLO:               "slo-",
	KindRED:               "red-",
	KindOverview:          "slokeeper-overview",
	KindNodes:             "slokeeper-use-nodes",
	KindAPIServer:         "slokeeper-k8s-apiserver",
	KindEtcd:              "slokeeper-k8s-etcd",
	KindScheduler:         "slokeeper-k8s-scheduler",
	KindControllerManager: "slokeeper-k8s-controller-manager",
	KindCoreDNS:           "slokeeper-k8s-coredns",
	KindIngressNginx:      "slokeeper-ingress-nginx",
}

// UID returns the stable UID of the dashboard of kind for service (service
// is ignored by the kinds that are not per service). It is the readable
// prefix and the service, e.g. "slo-checkout"; when the service has
// characters a UID may not hold (anything but letters, digits, '-' and '_')
// or the result would be longer than 40 characters, the readable part is
// cut and a short hash of kind and service is appended, so distinct
// services never share a UID.
func UID(kind Kind, service string) string {
	prefix, ok := uidPrefix[kind]
	if !ok {
		prefix = string(kind) + "-"
	}
	if !strings.HasSuffix(prefix, "-") {
		return prefix
	}
	clean := sanitizeUID(service)
	uid := prefix + clean
	if clean == service && len(uid) <= MaxUIDLen && service != "" {
		return uid
	}
	sum := sha256.Sum256([]byte(string(kind) + "/" + service))
	h := hex.EncodeToString(sum[:5]) // 10 hex digits
	if max := MaxUIDLen - len(h) - 1; len(uid) > max {
		uid = uid[:max]
	}
	return strings.TrimRight(uid, "-_") + "-" + h
}

// simpleUID says whether UID(kind, service) is the prefix and the service
// unchanged, so that a URL can be built from the service name alone.
func simpleUID(kind Kind, service string) bool {
	return UID(kind, service) == uidPrefix[kind]+service
}

func sanitizeUID(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
