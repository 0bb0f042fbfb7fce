"""``pseudolabel review``: the local web app where people label rows, accept or correct
pseudo-labels, audit their precision and retrain (needs the ``review`` extra: starlette, jinja2,
uvicorn)."""
