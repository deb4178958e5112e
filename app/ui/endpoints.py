"""The job dashboard at /ui: one static page with plain JS modules (no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

UI_DIR = Path(__file__).resolve().parent
router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/ui")
def ui_root() -> RedirectResponse:
    """The service's front page is the dashboard."""
    return RedirectResponse("/ui/")


@router.get("/ui/")
def ui_index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def static_files() -> StaticFiles:
    return StaticFiles(directory=UI_DIR)
