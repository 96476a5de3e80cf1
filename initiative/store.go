package initiative

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// checkUnits reports the units of in that do not occur in known, wrapped in ErrBadInitiative and
// ErrUnknownUnit. An empty known (a warehouse without data yet, e.g. at first start) accepts all.
func checkUnits(in Initiative, known []string) error {
	if len(known) == 0 {
		return nil
	}
	var unknown []string
	units := slices.Concat(in.PilotUnits, in.ControlUnits)
	for _, w := range in.Waves {
		units = append(units, w.BusinessUnit)
	}
	for _, u := range units {
		if !slices.Contains(known, u) && !slices.Contains(unknown, u) {
			unknown = append(unknown, u)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%w %q: %w: %s (known: %s)", ErrBadInitiative, in.ID, ErrUnknownUnit,
		strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// Upsert validates a definition (Validate, plus units that must occur in the data unless the
// warehouse is still empty) and stores it, replacing any initiative with the same id. An empty
// Source means SourceAPI. One transaction checks the config-ownership rule (an API change to an
// initiative declared in the config fails ErrConfigOwned: Sync would undo it at the next start),
// stores the rows and bumps the data version, so caches keyed on it never serve the old
// definition. It returns the stored form.
func (svc *Service) Upsert(ctx context.Context, in Initiative) (*Initiative, error) {
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	known, err := svc.eng.BusinessUnits(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUnits(in, known); err != nil {
		return nil, err
	}
	in.UpdatedAt = svc.eng.Now().UTC().Truncate(time.Microsecond)
	err = svc.write(ctx, func(tx *sql.Tx) error {
		if in.Source != SourceConfig {
			if err := checkOwner(ctx, tx, in.ID, "change", false); err != nil {
				return err
			}
		}
		return storeInitiative(ctx, tx, in)
	})
	if err != nil {
		return nil, fmt.Errorf("initiative.Upsert(%q): %w", in.ID, err)
	}
	return &in, nil
}

// Delete removes an initiative created through the API: ErrInitiativeNotFound when there is none
// with that id, ErrConfigOwned when the config declares it. The check, the delete and the data
// version bump are one transaction.
func (svc *Service) Delete(ctx context.Context, id string) error {
	err := svc.write(ctx, func(tx *sql.Tx) error {
		if err := checkOwner(ctx, tx, id, "remove", true); err != nil {
			return err
		}
		return deleteInitiative(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("initiative.Delete(%q): %w", id, err)
	}
	return nil
}

// write runs fn in one write transaction that also bumps the data version (as an ETL commit does,
// without touching the data's updated_at: the response cache, the engine's result cache, the KPI
// gauges and open dashboards are keyed on it), and records the new version after the commit.
func (svc *Service) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := svc.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	var v int64
	if err := tx.QueryRowContext(ctx, bumpVersion).Scan(&v); err != nil {
		return fmt.Errorf("bump the data version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	svc.db.SetVersion(v)
	return nil
}

// bumpVersion records a change of the initiatives as a new data version.
const bumpVersion = "UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version"

// checkOwner enforces the config-ownership rule inside tx: nil when initiative id is absent (and
// must not exist) or was created through the API; ErrConfigOwned when the config declares it;
// ErrInitiativeNotFound when it is absent and mustExist.
func checkOwner(ctx context.Context, tx *sql.Tx, id, verb string, mustExist bool) error {
	var source string
	err := tx.QueryRowContext(ctx, "SELECT coalesce(source, 'api') FROM initiatives WHERE initiative_id = ?", id).Scan(&source)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if mustExist {
			return fmt.Errorf("%w: %q (initiatives: %s)", ErrInitiativeNotFound, id, initiativeIDs(ctx, tx))
		}
		return nil
	case err != nil:
		return err
	case source == SourceConfig:
		return fmt.Errorf("%w %q: %w: declared in the config (ltc.yaml `initiatives:`); %s it there",
			ErrBadInitiative, id, ErrConfigOwned, verb)
	}
	return nil
}

// storeInitiative replaces the rows of in (initiative, waves, targets) inside tx.
func storeInitiative(ctx context.Context, tx *sql.Tx, in Initiative) error {
	if err := deleteInitiative(ctx, tx, in.ID); err != nil {
		return err
	}
	pilot, _ := json.Marshal(in.PilotUnits)
	control, _ := json.Marshal(in.ControlUnits)
	if _, err := tx.ExecContext(ctx, `INSERT INTO initiatives (initiative_id, name, description, pilot_units,
  control_units, baseline_start, baseline_end, start_at, sprint_days, source, updated_at)
VALUES (?, ?, ?, from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), ?, ?, ?, ?, ?, ?)`,
		in.ID, in.Name, in.Description, string(pilot), string(control), in.BaselineFrom, in.BaselineTo,
		in.Start, in.SprintDays, in.Source, in.UpdatedAt); err != nil {
		return err
	}
	for _, w := range in.Waves {
		if _, err := tx.ExecContext(ctx, "INSERT INTO initiative_waves (initiative_id, business_unit, planned_at) VALUES (?, ?, ?)",
			in.ID, w.BusinessUnit, w.PlannedAt); err != nil {
			return err
		}
	}
	for _, t := range in.Targets {
		if _, err := tx.ExecContext(ctx, "INSERT INTO initiative_targets (initiative_id, kpi, target) VALUES (?, ?, ?)",
			in.ID, string(t.KPI), t.Value); err != nil {
			return err
		}
	}
	return nil
}

// deleteInitiative removes the rows of initiative id inside tx.
func deleteInitiative(ctx context.Context, tx *sql.Tx, id string) error {
	for _, t := range []string{"initiative_waves", "initiative_targets", "initiatives"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE initiative_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// Sync makes the stored config-declared initiatives match declared (typically the
// `initiatives:` of ltc.yaml, at start): each valid one is upserted with Source = SourceConfig,
// and stored config-declared initiatives that are no longer declared are deleted. Initiatives
// created through the API are left alone, unless declared with the same id (config wins).
// Invalid definitions are skipped and reported together in the returned error (wrapping
// ErrBadInitiative); the valid ones are still stored. The deletes, the upserts and the data
// version bump are one transaction.
func (svc *Service) Sync(ctx context.Context, declared []Initiative) error {
	known, err := svc.eng.BusinessUnits(ctx)
	if err != nil {
		return err
	}
	var problems []error
	var valid []Initiative
	ids := map[string]bool{}
	for _, in := range declared {
		in.Source = SourceConfig
		in = in.normalized()
		if ids[in.ID] {
			problems = append(problems, fmt.Errorf("%w %q: declared twice", ErrBadInitiative, in.ID))
			continue
		}
		ids[in.ID] = true
		if err := errors.Join(in.Validate(), checkUnits(in, known)); err != nil {
			problems = append(problems, err)
			continue
		}
		valid = append(valid, in)
	}
	now := svc.eng.Now().UTC().Truncate(time.Microsecond)
	err = svc.write(ctx, func(tx *sql.Tx) error {
		stale, err := staleConfigIDs(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, id := range stale {
			if err := deleteInitiative(ctx, tx, id); err != nil {
				return fmt.Errorf("delete %q: %w", id, err)
			}
		}
		for _, in := range valid {
			in.UpdatedAt = now
			if err := storeInitiative(ctx, tx, in); err != nil {
				return fmt.Errorf("%q: %w", in.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initiative.Sync: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("initiative.Sync: %w", errors.Join(problems...))
	}
	return nil
}

// staleConfigIDs returns the stored config-declared initiatives that declared no longer holds.
func staleConfigIDs(ctx context.Context, tx *sql.Tx, declared map[string]bool) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT initiative_id FROM initiatives WHERE source = ?", SourceConfig)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stale []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !declared[id] {
			stale = append(stale, id)
		}
	}
	return stale, rows.Err()
}
