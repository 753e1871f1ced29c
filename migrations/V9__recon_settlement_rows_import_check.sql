-- A settlement file of a million rows paid a million deferred foreign-key checks at COMMIT
-- (settlement_rows.import_id -> imports.id, one query and one row lock per row: 12 s of a
-- 2-minute import on the loaded 2-core machine). The same guarantee, set-based:
--
-- * imports are never updated, deleted or truncated (nothing ever did; now the database refuses
--   it, V1's `refuse_change()`), so a row that pointed at an import keeps pointing at it;
-- * after every INSERT into settlement_rows, every import the statement's rows name exists: one
--   probe per distinct import (one per statement in practice), checked at the end of the
--   statement instead of at commit. The import row is written before its settlement rows.

create trigger imports_append_only before update or delete on recon.imports
    for each row execute function refuse_change();
create trigger imports_no_truncate before truncate on recon.imports
    for each statement execute function refuse_change();

alter table recon.settlement_rows drop constraint settlement_rows_import_id_fkey;

create function recon.check_settlement_rows_import() returns trigger language plpgsql as $$
declare
    missing uuid;
begin
    select n.import_id into missing
    from (select distinct import_id from new_rows) n
    where not exists (select 1 from recon.imports i where i.id = n.import_id)
    limit 1;
    if missing is not null then
        raise exception 'settlement rows name import %, which does not exist', missing
            using errcode = '23503';
    end if;
    return null;
end;
$$;

create trigger settlement_rows_import_exists after insert on recon.settlement_rows
    referencing new table as new_rows
    for each statement execute function recon.check_settlement_rows_import();
