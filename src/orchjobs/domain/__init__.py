"""Pure rules of the job service: enums, eligibility, schedules. No I/O."""
