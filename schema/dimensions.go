package schema

import (
	"fmt"
	"regexp"
	"strings"
)

// attributeName is the form of a source attribute's and a custom dimension's name: lower_snake,
// so that it is safe as a quoted SQL literal and readable in URLs.
var attributeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// IsAttributeName reports whether s can name a source attribute or a custom dimension: a
// lower_snake identifier (a–z, 0–9, _; starting with a letter; at most 63 characters).
func IsAttributeName(s string) bool { return attributeName.MatchString(s) }

// CheckDimensions validates custom dimensions (ltc.yaml's dimensions:): each needs a lower_snake
// name, unique and not a built-in's, and a lower_snake attribute. It returns every problem, each
// naming the entry.
func CheckDimensions(ds []Dimension) []error {
	var errs []error
	seen := map[string]bool{}
	for i, d := range ds {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("dimensions[%d]: %s", i, fmt.Sprintf(format, args...)))
		}
		switch {
		case !IsAttributeName(d.Name):
			bad("name %q: want a lower_snake identifier such as lead_origin", d.Name)
		case IsDimension(d.Name):
			bad("name %q is a built-in dimension (built-ins: %s)", d.Name, strings.Join(Dimensions, ", "))
		case seen[d.Name]:
			bad("name %q: declared twice", d.Name)
		}
		seen[d.Name] = true
		if !IsAttributeName(d.Attribute) {
			bad("attribute %q: want the lower_snake name a source maps as attributes.<name>", d.Attribute)
		}
	}
	return errs
}

// WithCustom returns the built-in dimensions followed by the custom ones, each custom one titled
// (by its name when it has no title) and described (by its attribute when it has no description).
func WithCustom(custom []Dimension) []Dimension {
	out := append([]Dimension(nil), BuiltinDimensions...)
	for _, d := range custom {
		if d.Title == "" {
			d.Title = d.Name
		}
		if d.Description == "" {
			d.Description = fmt.Sprintf("Source attribute %s of the case (its opportunity's, else its earliest lead's).", d.Attribute)
		}
		out = append(out, d)
	}
	return out
}
