-- Content identities already quarantined, so a rejected delivery left in place is not
-- quarantined again every night.
select distinct content_sha256 from quarantine where content_sha256 is not null;
