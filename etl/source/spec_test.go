package source

import "testing"

func TestCheckFormat(t *testing.T) {
	for format, ok := range map[string]bool{
		"":                    true,
		"%Y-%m-%d %H:%M:%S":   true,
		"%d.%m.%Y %-H:%M":     true,
		"%Y-%m-%dT%H:%M:%S%z": true,
		"100%% %Y":            true,
		"%s":                  false, // epoch seconds: DuckDB's strptime has no %s
		"%Y-%m-%d %":          false,
		"%Q":                  false,
		"%-":                  false,
	} {
		if err := checkFormat(format); (err == nil) != ok {
			t.Errorf("checkFormat(%q) = %v, want ok=%v", format, err, ok)
		}
	}
}
