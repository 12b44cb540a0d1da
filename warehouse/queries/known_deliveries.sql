-- Identity of every accepted recording, to tell new deliveries from repeats.
select record, content_sha256, signal_sha256 from recordings;
