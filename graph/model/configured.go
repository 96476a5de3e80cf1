package model

// Hand-written models for the types whose fields answer NOT_CONFIGURED when the process model
// cannot serve them (gqlgen.yml binds them): each such field is a method returning the value or the
// error, so the error lands on the field's own path and only when the field is asked for.

// CycleTimes are the four cycle times, in days; a cycle whose milestones the model does not mark
// holds its NOT_CONFIGURED error instead.
type CycleTimes struct {
	SalesStats, DeliveryStats, CashStats, LeadToCashStats *DurationStats
	SalesErr, DeliveryErr, CashErr, LeadToCashErr         error
}

// Sales is the sales cycle, or why the model cannot measure it.
func (c *CycleTimes) Sales() (*DurationStats, error) { return c.SalesStats, c.SalesErr }

// Delivery is the delivery cycle, or why the model cannot measure it.
func (c *CycleTimes) Delivery() (*DurationStats, error) { return c.DeliveryStats, c.DeliveryErr }

// Cash is the cash cycle, or why the model cannot measure it.
func (c *CycleTimes) Cash() (*DurationStats, error) { return c.CashStats, c.CashErr }

// LeadToCash is the lead-to-cash cycle, or why the model cannot measure it.
func (c *CycleTimes) LeadToCash() (*DurationStats, error) { return c.LeadToCashStats, c.LeadToCashErr }

// Adoption is process adoption; iron-triangle coverage holds its NOT_CONFIGURED error when the
// model does not say when the team is due.
type Adoption struct {
	Rate            *KpiValue `json:"rate"`
	Coverage        *KpiValue `json:"coverage"`
	Template        *KpiValue `json:"template"`
	IronTriangleVal *KpiValue
	IronTriangleErr error
}

// IronTriangle is iron-triangle coverage, or why the model cannot measure it.
func (a *Adoption) IronTriangle() (*KpiValue, error) { return a.IronTriangleVal, a.IronTriangleErr }
