package etl

import (
	"context"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Scheduler runs the jobs of a Runner on their schedules with gocron: one job at a time (one
// writer), and a job still running when its next tick comes is rescheduled, not run twice.
type Scheduler struct {
	s gocron.Scheduler
}

// NewScheduler registers every job with a schedule. Jobs without one only run on demand.
func NewScheduler(r *Runner) (*Scheduler, error) {
	s, err := gocron.NewScheduler(
		gocron.WithLimitConcurrentJobs(1, gocron.LimitModeWait),
		gocron.WithStopTimeout(2*time.Minute),
	)
	if err != nil {
		return nil, fmt.Errorf("etl.NewScheduler: %w", err)
	}
	for _, spec := range r.opts.Sources {
		def, err := spec.Schedule.Definition()
		if err != nil {
			return nil, fmt.Errorf("etl.NewScheduler: source %q: %w", spec.Name, err)
		}
		if def == nil {
			continue
		}
		name := spec.Name
		task := gocron.NewTask(func(ctx context.Context) error {
			_, err := r.Run(ctx, name)
			return err
		})
		if _, err := s.NewJob(def, task, gocron.WithName(name), gocron.WithSingletonMode(gocron.LimitModeReschedule)); err != nil {
			_ = s.Shutdown()
			return nil, fmt.Errorf("etl.NewScheduler: source %q: %w", spec.Name, err)
		}
	}
	return &Scheduler{s: s}, nil
}

// Start starts the schedule.
func (s *Scheduler) Start() { s.s.Start() }

// Shutdown stops scheduling and waits for a running job to finish or roll back (its context is cancelled).
func (s *Scheduler) Shutdown() error {
	if err := s.s.Shutdown(); err != nil {
		return fmt.Errorf("etl.Scheduler.Shutdown: %w", err)
	}
	return nil
}
