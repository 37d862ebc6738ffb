"""Queue health, alert rules and their evaluator, circuit breakers and the incident timeline.

Engine-level: reads the registry, worker records and schedules; never imports the console, the CLI entry
point or the WellFlow domain (notifications go out through an injected `enqueue` by queue name)."""
