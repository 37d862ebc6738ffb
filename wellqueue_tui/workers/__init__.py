"""Background processes around the queues: worker supervision and the cron scheduler."""
