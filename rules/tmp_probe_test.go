package rules

import (
	"testing"

	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"
	_ "gopkg.in/yaml.v3"
)

func TestProbe(t *testing.T) {
	_ = rulefmt.Parse
	_ = promql.NewEngine
	_ = teststorage.New
}
