"""Contact updates made at the school: a principal or an office's officer corrects a
person's phone, position or unit, or marks them departed (``!capnhat``).

``change`` plans a correction over a DirectoryView (pure: every bad input becomes one
Vietnamese sentence); ``store`` writes it with its history and bumps the directory's
revision, so the running reconcile loop applies it to Matrix; ``requests`` keeps a staff
member's own request until their principal decides.
"""
