-- Connections suspended while a Coexistence number is offboarded from the WhatsApp Business app,
-- health as Meta reports it now (messaging limit, issues), and management changes kept byte
-- for byte so they are forwarded exactly as Meta sent them.

ALTER TABLE connections DROP CONSTRAINT connections_status_check;
ALTER TABLE connections ADD CONSTRAINT connections_status_check CHECK (status IN ('active', 'suspended', 'disconnected'));
ALTER TABLE connections
    ADD COLUMN suspended_at timestamptz,
    -- `whatsapp_business_manager_messaging_limit` (or the quality webhook's limit).
    ADD COLUMN messaging_limit text,
    -- [{entity, code, description}]: `health_status.entities[].errors`, and a scheduled disable.
    ADD COLUMN health_issues jsonb NOT NULL DEFAULT '[]';
-- A suspended number is still the tenant's: no one else may connect it meanwhile.
DROP INDEX connections_live_phone;
CREATE UNIQUE INDEX connections_live_phone ON connections (phone_number_id) WHERE status IN ('active', 'suspended');
DROP INDEX connections_live_waba;
CREATE INDEX connections_live_waba ON connections (waba_id) WHERE status IN ('active', 'suspended');

ALTER TABLE management_changes
    -- The bytes of the change's `value` exactly as Meta sent them, and the entry's `time`.
    ADD COLUMN value_raw text,
    ADD COLUMN entry_time bigint;
