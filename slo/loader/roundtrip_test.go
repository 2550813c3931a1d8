package loader

import (
	"reflect"
	"testing"

	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/native"
)

// roundTrip writes slos in the native format, loads them back and checks
// that nothing but positions changed.
func roundTrip(t *testing.T, slos []slo.SLO) {
	t.Helper()
	out, err := native.Marshal(slos)
	if err != nil {
		t.Fatal(err)
	}
	back := Parse([]File{{Name: "converted.yaml", Data: out}}, Options{})
	if back.Problems.HasErrors() {
		t.Fatalf("converted specs do not load:\n%v\n%s", back.Problems, out)
	}
	if len(back.SLOs) != len(slos) {
		t.Fatalf("round trip: %d SLOs, want %d", len(back.SLOs), len(slos))
	}
	byID := map[string]slo.SLO{}
	for _, s := range back.SLOs {
		byID[s.ID()] = s
	}
	for _, want := range slos {
		got, ok := byID[want.ID()]
		if !ok {
			t.Errorf("%s lost in conversion", want.ID())
			continue
		}
		for _, s := range []*slo.SLO{&got, &want} {
			s.Source, s.Positions = slo.Source{}, nil
			s.Labels, s.Annotations = emptyNil(s.Labels), emptyNil(s.Annotations)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed in conversion:\n got  %+v\n want %+v", want.ID(), got, want)
		}
	}
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
