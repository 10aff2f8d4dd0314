import time, cProfile, pstats
from bench.export import _fill, NOW
from bench.pg import throwaway_database
from app.tracker_sheet import pg_cells, pg_export, sql_text
from app.tracker_sheet.workbook import write_xlsx
from app.incidents.queries import IncidentFilters
count = 20000
sql_text._classes()
with throwaway_database("exp") as db:
    tenant = _fill(db, count)
    q, p = pg_cells.csv_statement(tenant_id=tenant, filters=IncidentFilters(), now=NOW)
    with db.session() as s:
        raw = s.connection().connection.driver_connection
        raw.execute(pg_export.SESSION)
        for fmt in ("text", "binary"):
            st = time.perf_counter()
            with raw.cursor() as c:
                with c.copy(f"COPY ({q}) TO STDOUT (FORMAT {fmt})", p) as cp:
                    cp.set_types(["text", "bool", "text", "text", "text", "text", "text", "text", "text"])
                    n = sum(1 for _ in cp.rows())
            print(f"copy rows {fmt}: {(time.perf_counter()-st)*1e6/count:.1f} us/row")
        st = time.perf_counter()
        with raw.cursor() as c:
            with c.copy(f"COPY ({q}) TO STDOUT", p) as cp:
                n = sum(len(b) for b in cp)
        print(f"copy raw: {(time.perf_counter()-st)*1e6/count:.1f} us/row")
    st = time.perf_counter()
    n = sum(len(c) for c in pg_export.csv_chunks(db, tenant_id=tenant, filters=IncidentFilters(), now=NOW))
    print(f"csv_chunks: {(time.perf_counter()-st)*1e6/count:.1f} us/row")
    prof = cProfile.Profile()
    prof.enable()
    n = sum(len(c) for c in pg_export.csv_chunks(db, tenant_id=tenant, filters=IncidentFilters(), now=NOW))
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(8)
    st = time.perf_counter()
    write_xlsx(pg_export.sheet_pages(db, tenant_id=tenant, filters=IncidentFilters(), now=NOW), "/tmp/x.xlsx", exported_at=NOW)
    print(f"xlsx: {(time.perf_counter()-st)*1e6/count:.1f} us/row")
    prof = cProfile.Profile()
    prof.enable()
    write_xlsx(pg_export.sheet_pages(db, tenant_id=tenant, filters=IncidentFilters(), now=NOW), "/tmp/x.xlsx", exported_at=NOW)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(14)
