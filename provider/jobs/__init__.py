"""Jobs: admission (request → JobSpec), rendering (JobState → Ocean job JSON)."""
