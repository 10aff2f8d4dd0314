"""The floor for the API benchmark: FastAPI returning a constant JSON, nothing else."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/constant")
    def constant() -> dict[str, str]:
        return {"status": "ok", "service": "bare"}

    return app
