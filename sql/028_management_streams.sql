-- A management change is a duplicate only while it is the latest of its stream: the same WABA,
-- field and subject (the template, the phone number) with no other value recorded since. A
-- change that really happens again (offboarded, reconnected, offboarded within minutes) is then
-- recorded each time; before, any repeat of a value within 10 minutes was dropped.
-- `stream_key` is SHA-256 of WABA, field and subject; rows recorded before it stay NULL and are
-- compared by value alone, as they were.
ALTER TABLE management_changes ADD COLUMN stream_key bytea;
CREATE INDEX management_changes_stream ON management_changes (stream_key, received_at DESC) WHERE stream_key IS NOT NULL;
