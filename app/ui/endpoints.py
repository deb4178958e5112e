"""The job dashboard at /ui: one static page with plain JS modules (no build step)."""

from __future__ import annotations

import os
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


class _PageAssets(StaticFiles):
    """The page's own files only (scripts, styles, images): the package's Python files are not assets."""

    SUFFIXES = frozenset({".js", ".css", ".html", ".svg", ".png", ".ico"})

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).suffix.lower() not in self.SUFFIXES:
            return "", None  # answered 404, like a file that is not there
        return super().lookup_path(path)


def static_files() -> StaticFiles:
    return _PageAssets(directory=UI_DIR)
