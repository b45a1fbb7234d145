"""Students, parents and their learning records: pure computations over the directory's
rows (``record``) and the figures ``dieuhanh status`` shows (``counts``)."""
