package schema

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed ltc-standard.yaml
var standardModelYAML []byte

// Tier is a stage's place in the three-tier process design: core (mandatory), branch (per path).
// Activities that map to no stage form the personal tier.
type Tier string

// The tiers a stage may declare.
const (
	TierCore   Tier = "core"
	TierBranch Tier = "branch"
)

// Model is a process model: the branches a case can take and the stages in process order.
type Model struct {
	Name     string   `yaml:"name"`
	Branches []Branch `yaml:"branches"`
	Stages   []Stage  `yaml:"stages"`
	// IronTriangleAfter is the stage after which a case must have its whole iron-triangle team
	// (sales, solution, delivery) assigned (DESIGN §5.5); "" leaves iron-triangle coverage
	// unconfigured.
	IronTriangleAfter string `yaml:"iron_triangle_after"`

	file       string
	activities map[string]string    // activity name → stage id
	index      map[string]int       // stage id → position
	milestones map[Milestone]string // milestone → stage id
}

// Milestone is a moment of the lead-to-cash process that KPIs are defined on (DESIGN §4, §5.3). A
// model marks the stage that is each milestone, so the engine never names a stage id.
type Milestone string

// The milestones a stage may carry, in process order.
const (
	MilestoneLeadCreated        Milestone = "lead_created"
	MilestoneOpportunityCreated Milestone = "opportunity_created"
	MilestoneWon                Milestone = "won"
	MilestoneDeliveryStarted    Milestone = "delivery_started"
	MilestoneDelivered          Milestone = "delivered"
	MilestoneInvoiced           Milestone = "invoiced"
	MilestoneCashCollected      Milestone = "cash_collected"
)

// Milestones lists every milestone in process order.
var Milestones = []Milestone{MilestoneLeadCreated, MilestoneOpportunityCreated, MilestoneWon,
	MilestoneDeliveryStarted, MilestoneDelivered, MilestoneInvoiced, MilestoneCashCollected}

// MilestoneStrings returns the names of ms, in order.
func MilestoneStrings(ms []Milestone) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// Branch is a guided path; a case takes the first branch whose When matches its attributes.
type Branch struct {
	ID   string              `yaml:"id"`
	When map[string][]string `yaml:"when"`
	pos
}

// Stage is one step of the process; a stage with a Gate is a quality gate guarding another stage.
type Stage struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Tier       Tier     `yaml:"tier"`
	Activities []string `yaml:"activities"`
	Branches   []string `yaml:"branches"`
	Gate       *Gate    `yaml:"gate"`
	// Template reports whether a template applies to this stage (for template adoption).
	Template bool `yaml:"template"`
	// Milestone marks the stage as one of the process's milestones ("" for none).
	Milestone Milestone `yaml:"milestone"`
	// Repeatable stages (invoices and payments under milestone billing, partial deliveries) may
	// occur many times in a case without counting as rework.
	Repeatable bool `yaml:"repeatable"`
	pos
}

// Title is the stage's display name: its name, else its id.
func (s Stage) Title() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// Gate names the stage a quality gate guards: a case must pass the gate before it enters that stage.
type Gate struct {
	Guards string `yaml:"guards"`
}

// pos remembers where a mapping was in its YAML file, so validation errors can name file and line.
type pos struct {
	line   int
	fields map[string]int
}

// capture records the mapping's line and its keys' lines, rejecting keys not in known.
func (p *pos) capture(n *yaml.Node, known ...string) error {
	p.line = n.Line
	p.fields = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if !contains(known, key.Value) {
			return fmt.Errorf("line %d: field %s not found (known: %s)", key.Line, key.Value, strings.Join(known, ", "))
		}
		p.fields[key.Value] = key.Line
	}
	return nil
}

func (p pos) at(field string) int {
	if l, ok := p.fields[field]; ok {
		return l
	}
	return p.line
}

// UnmarshalYAML decodes a stage and remembers its line numbers.
func (s *Stage) UnmarshalYAML(n *yaml.Node) error {
	type plain Stage
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	return s.pos.capture(n, "id", "name", "tier", "activities", "branches", "gate", "template", "milestone", "repeatable")
}

// UnmarshalYAML decodes a branch and remembers its line numbers.
func (b *Branch) UnmarshalYAML(n *yaml.Node) error {
	type plain Branch
	if err := n.Decode((*plain)(b)); err != nil {
		return err
	}
	return b.pos.capture(n, "id", "when")
}

// ModelError is one problem in a process model, located by file, line and field.
type ModelError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e ModelError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// StandardModel returns the embedded default ltc-standard model.
func StandardModel() *Model {
	m, err := ParseModel("ltc-standard.yaml (embedded)", standardModelYAML)
	if err != nil {
		panic(fmt.Sprintf("embedded model is invalid: %v", err)) // a build defect, caught by tests
	}
	return m
}

// LoadModel reads a model from a YAML file; the name "ltc-standard" (or "") selects the embedded default.
func LoadModel(path string) (*Model, error) {
	if path == "" || path == "ltc-standard" {
		return StandardModel(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schema.LoadModel: %w", err)
	}
	return ParseModel(path, data)
}

// ParseModel parses and validates a model; the error joins every ModelError found.
func ParseModel(file string, data []byte) (*Model, error) {
	var doc struct {
		Process *Model `yaml:"process"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Process == nil {
		return nil, ModelError{File: file, Line: 1, Field: "process", Msg: "missing top-level 'process' key"}
	}
	m := doc.Process
	m.file = file
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) validate() error {
	var errs []error
	bad := func(p pos, field, format string, args ...any) {
		errs = append(errs, ModelError{File: m.file, Line: p.at(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if m.Name == "" {
		errs = append(errs, ModelError{File: m.file, Line: 1, Field: "name", Msg: "the process needs a name"})
	}
	branches := map[string]bool{}
	for _, b := range m.Branches {
		if b.ID == "" {
			bad(b.pos, "id", "branch without an id")
		} else if branches[b.ID] {
			bad(b.pos, "id", "duplicate branch id %q", b.ID)
		}
		branches[b.ID] = true
		for dim := range b.When {
			if !IsDimension(dim) {
				bad(b.pos, "when", "unknown case attribute %q (want one of %s)", dim, strings.Join(Dimensions, ", "))
			}
		}
	}
	if len(m.Stages) == 0 {
		errs = append(errs, ModelError{File: m.file, Line: 1, Field: "stages", Msg: "the process needs at least one stage"})
	}
	m.index = map[string]int{}
	m.activities = map[string]string{}
	m.milestones = map[Milestone]string{}
	for i, s := range m.Stages {
		if s.Milestone != "" {
			switch other, dup := m.milestones[s.Milestone]; {
			case !slices.Contains(Milestones, s.Milestone):
				bad(s.pos, "milestone", "stage %q: unknown milestone %q (want one of %s)", s.ID, s.Milestone, strings.Join(MilestoneStrings(Milestones), ", "))
			case dup:
				bad(s.pos, "milestone", "milestone %q is marked on both %q and %q", s.Milestone, other, s.ID)
			default:
				m.milestones[s.Milestone] = s.ID
			}
		}
		_, dup := m.index[s.ID]
		switch {
		case s.ID == "":
			bad(s.pos, "id", "stage without an id")
		case dup:
			bad(s.pos, "id", "duplicate stage id %q", s.ID)
		default:
			m.index[s.ID] = i
		}
		if s.Tier != TierCore && s.Tier != TierBranch {
			bad(s.pos, "tier", "stage %q: tier must be core or branch, got %q", s.ID, s.Tier)
		}
		for _, b := range s.Branches {
			if !branches[b] {
				bad(s.pos, "branches", "stage %q: unknown branch %q", s.ID, b)
			}
		}
		acts := s.Activities
		if len(acts) == 0 {
			acts = []string{s.ID}
			m.Stages[i].Activities = acts
		}
		for _, a := range acts {
			if other, ok := m.activities[a]; ok && other != s.ID {
				bad(s.pos, "activities", "activity %q is mapped to both %q and %q", a, other, s.ID)
			}
			m.activities[a] = s.ID
		}
	}
	for _, s := range m.Stages {
		if s.Gate == nil {
			continue
		}
		j, ok := m.index[s.Gate.Guards]
		switch {
		case s.Gate.Guards == "":
			bad(s.pos, "gate", "gate %q guards nothing", s.ID)
		case !ok:
			bad(s.pos, "gate", "gate %q guards unknown stage %q", s.ID, s.Gate.Guards)
		case s.Gate.Guards == s.ID:
			bad(s.pos, "gate", "gate %q guards itself (a cycle)", s.ID)
		case j < m.index[s.ID]:
			bad(s.pos, "gate", "gate %q guards %q, which comes before it in process order (a cycle)", s.ID, s.Gate.Guards)
		}
	}
	if m.IronTriangleAfter != "" {
		if _, ok := m.index[m.IronTriangleAfter]; !ok {
			errs = append(errs, ModelError{File: m.file, Line: 1, Field: "iron_triangle_after", Msg: fmt.Sprintf("unknown stage %q", m.IronTriangleAfter)})
		}
	}
	if cyc := m.guardCycle(); cyc != "" {
		errs = append(errs, ModelError{File: m.file, Line: m.Stages[m.index[strings.Split(cyc, " → ")[0]]].line, Field: "gate", Msg: "gates guard each other in a cycle: " + cyc})
	}
	return errors.Join(errs...)
}

// guardCycle returns a cycle in the guard graph (gate → guarded stage), or "".
func (m *Model) guardCycle() string {
	next := map[string]string{}
	for _, s := range m.Stages {
		if s.Gate != nil && s.Gate.Guards != s.ID {
			next[s.ID] = s.Gate.Guards
		}
	}
	for start := range next {
		seen := map[string]bool{start: true}
		path := []string{start}
		for cur := next[start]; cur != ""; cur = next[cur] {
			path = append(path, cur)
			if cur == start {
				return strings.Join(path, " → ")
			}
			if seen[cur] {
				break
			}
			seen[cur] = true
		}
	}
	return ""
}

// StageOf returns the stage an activity maps to, or "" for the personal tier.
func (m *Model) StageOf(activity string) string { return m.activities[activity] }

// ActivityMap returns activity name → stage id for every mapped activity.
func (m *Model) ActivityMap() map[string]string {
	out := make(map[string]string, len(m.activities))
	for k, v := range m.activities {
		out[k] = v
	}
	return out
}

// Stage returns the stage with the given id.
func (m *Model) Stage(id string) (Stage, bool) {
	i, ok := m.index[id]
	if !ok {
		return Stage{}, false
	}
	return m.Stages[i], true
}

// MilestoneStage returns the id of the stage marked with milestone ms.
func (m *Model) MilestoneStage(ms Milestone) (string, bool) {
	id, ok := m.milestones[ms]
	return id, ok
}

// MilestonePosition returns the position of the stage marked with milestone ms, or -1.
func (m *Model) MilestonePosition(ms Milestone) int {
	if id, ok := m.milestones[ms]; ok {
		return m.index[id]
	}
	return -1
}

// Position returns a stage's index in process order, or -1.
func (m *Model) Position(id string) int {
	if i, ok := m.index[id]; ok {
		return i
	}
	return -1
}

// Expected reports whether stage s is expected on branch b.
func (s Stage) Expected(branch string) bool {
	if len(s.Branches) == 0 {
		return true
	}
	for _, b := range s.Branches {
		if b == branch {
			return true
		}
	}
	return false
}

// BranchFor returns the branch a case with the given attributes takes.
func (m *Model) BranchFor(attrs map[string]string) string {
	for _, b := range m.Branches {
		if len(b.When) == 0 {
			continue
		}
		match := true
		for dim, values := range b.When {
			if !contains(values, attrs[dim]) {
				match = false
				break
			}
		}
		if match {
			return b.ID
		}
	}
	if len(m.Branches) == 0 {
		return ""
	}
	return m.Branches[0].ID
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Dimension is a case attribute that scopes filter and group on and branches match on. A case
// takes its opportunity's attributes, else its earliest lead's.
type Dimension struct {
	Name        string `json:"name" yaml:"name"`
	Title       string `json:"title" yaml:"title"`
	Description string `json:"description" yaml:"description"`
	// Attribute is the source attribute a custom dimension reads (the key of the attributes map
	// that leads and opportunities keep); empty for the built-ins, which are columns.
	Attribute string `json:"attribute,omitempty" yaml:"attribute"`
}

// BuiltinDimensions are the dimensions every warehouse has, in the order of the derived tables'
// columns (DESIGN §5); the KPI engine, the API and the dashboards read them from here.
var BuiltinDimensions = []Dimension{
	{"business_unit", "Business unit", "Business unit owning the case.", ""},
	{"region", "Region", "Sales region of the case.", ""},
	{"segment", "Segment", "Customer segment of the account.", ""},
	{"product_line", "Product line", "Product line of the opportunity.", ""},
	{"channel", "Channel", "Marketing channel the lead came from.", ""},
	{"owner", "Owner", "Owner of the case (employee id of the sales owner).", ""},
	{"team", "Team", "Team of the owner (from the employees table).", ""},
	{"branch", "Branch", "Process branch the case follows (e.g. standard or complex), from the process model.", ""},
}

// Dimensions are the names of BuiltinDimensions, in order.
var Dimensions = func() []string {
	out := make([]string, len(BuiltinDimensions))
	for i, d := range BuiltinDimensions {
		out[i] = d.Name
	}
	return out
}()

// IsDimension reports whether name is one of Dimensions.
func IsDimension(name string) bool { return contains(Dimensions, name) }
