package schema

// Target describes a canonical table an ETL source can load: its fields, natural key and rules.
type Target struct {
	Table string
	// Key is the natural key. For stage_events it is event_id, the source's event id when mapped,
	// else the ETL's content hash of the event's canonical fields.
	Key []string
	// Fields in table order (without the _file bookkeeping column).
	Fields []Field
	// Cases selects the ids of the cases whose derived rows (schema/kpi) depend on the rows {rows}
	// of this table (alias r), so the ETL can record what a change touches for the incremental
	// refresh; empty when no derived table reads the table. A NULL id (a row of no known case)
	// makes the refresh rebuild everything.
	Cases string
}

// FieldType is the canonical type of a field.
type FieldType string

// Field types.
const (
	String    FieldType = "VARCHAR"
	Timestamp FieldType = "TIMESTAMP"
	Date      FieldType = "DATE"
	Decimal   FieldType = "DECIMAL(18,2)"
	Double    FieldType = "DOUBLE"
	BigInt    FieldType = "BIGINT"
	Bool      FieldType = "BOOLEAN"
	// Attributes is the map of attribute name → value a source fills from its attributes.<name>
	// columns (AttributesField).
	Attributes FieldType = "MAP(VARCHAR, VARCHAR)"
)

// AttributesField is the field of leads and opportunities that keeps the extra source
// columns a source maps as attributes.<name> (custom dimensions read them).
const AttributesField = "attributes"

// Field is one canonical column with its validation rules.
type Field struct {
	Name     string
	Type     FieldType
	Required bool
	// Enum lists the allowed values, if restricted.
	Enum []string
	// NonNegative rejects negative numbers.
	NonNegative bool
}

func f(name string, t FieldType) Field { return Field{Name: name, Type: t} }
func req(name string, t FieldType) Field {
	return Field{Name: name, Type: t, Required: true}
}
func money(name string, required bool) Field {
	return Field{Name: name, Type: Decimal, Required: required, NonNegative: true}
}

// byContract selects the case of rows that reference a contract (Target.Cases).
const byContract = "SELECT k.opportunity_id FROM {rows} r LEFT JOIN contracts k ON k.contract_id = r.contract_id"

// CanonicalTargets returns the loadable canonical tables of DESIGN §3, keyed by table name.
func CanonicalTargets() map[string]Target {
	ts := []Target{
		{Table: "accounts", Key: []string{"account_id"}, Fields: []Field{
			req("account_id", String), f("name", String), f("industry", String), f("segment", String), f("region", String)}},
		{Table: "employees", Key: []string{"employee_id"}, Cases: "SELECT c.case_id FROM {rows} r JOIN kpi_case c ON c.owner = r.employee_id", Fields: []Field{
			req("employee_id", String), f("name", String), f("role", String), f("team", String), f("manager", String),
			f("business_unit", String), f("region", String), f("hired_at", Timestamp), f("certified_at", Timestamp)}},
		{Table: "leads", Key: []string{"lead_id"}, Cases: "SELECT coalesce(r.opportunity_id, r.lead_id) FROM {rows} r", Fields: []Field{
			req("lead_id", String), req("created_at", Timestamp), f("channel", String), f("campaign", String),
			f("account_id", String), f("owner_id", String), f("business_unit", String), f("region", String),
			f("segment", String), f("status", String), f("qualified_at", Timestamp), f("converted_at", Timestamp),
			f("opportunity_id", String), f(AttributesField, Attributes)}},
		{Table: "opportunities", Key: []string{"opportunity_id"}, Cases: "SELECT r.opportunity_id FROM {rows} r", Fields: []Field{
			req("opportunity_id", String), f("lead_id", String), f("account_id", String), f("owner_id", String),
			f("business_unit", String), f("region", String), f("segment", String), f("product_line", String),
			f("branch", String), f("created_at", Timestamp), f("closed_at", Timestamp),
			{Name: "status", Type: String, Required: true, Enum: []string{"open", "won", "lost"}},
			money("amount", false), f("currency", String), f(AttributesField, Attributes)}},
		{Table: "stage_events", Key: []string{"event_id"}, Cases: "SELECT r.case_id FROM {rows} r", Fields: []Field{
			req("case_id", String), req("activity", String), req("occurred_at", Timestamp),
			f("actor_id", String), f("actor_role", String),
			{Name: "outcome", Type: String, Enum: []string{"pass", "fail"}},
			f("template_used", Bool), f("event_id", String)}},
		{Table: "contracts", Key: []string{"contract_id"}, Cases: "SELECT r.opportunity_id FROM {rows} r", Fields: []Field{
			req("contract_id", String), req("opportunity_id", String), req("signed_at", Timestamp),
			money("value", false), f("committed_delivery_at", Timestamp)}},
		{Table: "deliveries", Key: []string{"delivery_id"}, Cases: byContract, Fields: []Field{
			req("delivery_id", String), req("contract_id", String), f("started_at", Timestamp),
			f("accepted_at", Timestamp), f("csat", Double)}},
		{Table: "invoices", Key: []string{"invoice_id"}, Cases: byContract, Fields: []Field{
			req("invoice_id", String), req("contract_id", String), req("issued_at", Timestamp),
			f("due_at", Timestamp), money("amount", true)}},
		{Table: "payments", Key: []string{"payment_id"}, Cases: "SELECT k.opportunity_id FROM {rows} r " +
			"LEFT JOIN invoices i ON i.invoice_id = r.invoice_id LEFT JOIN contracts k ON k.contract_id = i.contract_id", Fields: []Field{
			req("payment_id", String), req("invoice_id", String), req("received_at", Timestamp), money("amount", true)}},
		{Table: "assignments", Key: []string{"opportunity_id", "employee_id", "role"}, Cases: "SELECT r.opportunity_id FROM {rows} r", Fields: []Field{
			req("opportunity_id", String), req("employee_id", String),
			{Name: "role", Type: String, Required: true, Enum: []string{"sales", "solution", "delivery"}},
			f("assigned_at", Timestamp)}},
		{Table: "marketing_spend", Key: []string{"period_start", "channel", "business_unit"}, Fields: []Field{
			req("period_start", Date), req("period_end", Date), req("channel", String), req("business_unit", String),
			money("amount", true)}},
	}
	out := make(map[string]Target, len(ts))
	for _, t := range ts {
		out[t.Table] = t
	}
	return out
}

// Targets returns table → field names, for config validation.
func Targets() map[string][]string {
	out := map[string][]string{}
	for name, t := range CanonicalTargets() {
		for _, fl := range t.Fields {
			out[name] = append(out[name], fl.Name)
		}
	}
	return out
}
