"""Background processes the dashboard starts and watches: locks, liveness, batch jobs."""
