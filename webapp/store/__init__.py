"""Storage: the database per app, models, migrations, retention, private files."""
