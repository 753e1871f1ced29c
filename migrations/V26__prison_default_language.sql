-- A prison's default language (issue 19): the kiosk's sign-in page starts in it until a prisoner
-- signs in (then their own language). Null: the country's language, English where a country has
-- several (Belgium), as before.
alter table identity.prisons
    add column default_language text
        constraint prisons_default_language_check
        check (default_language in ('fi', 'sv', 'en', 'nl', 'fr', 'de'));
