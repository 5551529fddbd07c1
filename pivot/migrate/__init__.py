"""Coming from DVC: `pivot import-dvc` (adopting DVC's results) and `pivot export-dvc`.

One module per concern: ``dvcfiles`` reads dvc.yaml/dvc.lock/.dvc files, ``resolve``
resolves DVC's templating, ``codegen`` writes pipeline.py, ``objects`` imports DVC's cache,
``adopt`` turns matching dvc.lock entries into Pivot locks, ``notes`` writes the migration
notes, ``importer`` runs them in order, ``export`` writes dvc.yaml back.
"""
