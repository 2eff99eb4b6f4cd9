-- What the onboarding page shows of the account besides its name and logo: its brand colour
-- (the button, text colour chosen for contrast) and whom the tenant can ask (a support email or
-- page, and a privacy policy). All optional.
ALTER TABLE accounts
    ADD COLUMN brand_color text CHECK (brand_color ~ '^#[0-9a-f]{6}$'),
    ADD COLUMN support_email text,
    ADD COLUMN support_url text,
    ADD COLUMN privacy_policy_url text;
