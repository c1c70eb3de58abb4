"""Agent text is untrusted: a pack built from hostile strings, opened in a real browser,
runs nothing and fetches nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app

PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    '"><svg onload="window.__pwned=\'svg\'"></svg>',
    "javascript:window.__pwned='link'",
    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
    '<iframe src="http://127.0.0.1:9/frame"></iframe>',
    "</style><script>window.__pwned='style'</script>",
    "{{ 7 * 7 }}{% raw %}",
    '<a href="http://127.0.0.1:9/">click</a>',
]


def hostile_manifest(tmp: Path) -> Path:
    import yaml

    p = PAYLOADS
    m: dict[str, Any] = {
        "apiVersion": "harness-audit/v1",
        "kind": "Pipeline",
        "metadata": {
            "name": "hostile",
            "owner": p[0],
            "description": p[1],
            "data_classes": [p[2], p[4], p[5]],
        },
        "slo": {"target": 0.99},
        "agents": [
            {
                "id": "a",
                "role": p[3],
                "untrusted_input": True,
                # provider and family are ASCII words (the schema): their payloads went elsewhere
                "model": {"provider": "openai", "family": "gpt-4o", "name": p[7]},
                "stage": {"reliability": 0.9},
                "access": {"enforced_at": "prompt", "scopes": [p[8]]},
                "tools": [
                    {
                        "name": p[0],
                        "effect": "destructive",
                        "scope": p[1],
                        "human_gate": {"required": True, "approvers": [p[2], p[6]]},
                    },
                    {"name": p[6], "effect": "external", "target": p[4]},
                ],
            }
        ],
    }
    path = tmp / "hostile.harness.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


def browser() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("chromium is not installed")
    return exe


def test_hostile_strings_run_nothing_and_fetch_nothing(tmp_path: Path) -> None:
    exe = browser()
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "pack"
    r = CliRunner().invoke(
        app, ["report", str(hostile_manifest(tmp_path)), "-o", str(out), "--no-pdf"]
    )
    assert r.exit_code in (0, 1), r.output
    html_path = out / "evidence.html"
    html = html_path.read_text()
    for payload in PAYLOADS:
        assert payload not in html  # every one is escaped
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        page = b.new_page(viewport={"width": 1280, "height": 1600})
        page.on("request", lambda req: requests.append(req.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(html_path.as_uri())
        page.wait_for_timeout(500)
        for link in page.query_selector_all("a"):  # no link leads outside the document
            href = link.get_attribute("href") or link.get_attribute("xlink:href")
            assert href is None or href.startswith("#"), href
        pwned = page.evaluate("() => window.__pwned")
        shot = tmp_path / "hostile.png"
        page.screenshot(path=str(shot), full_page=False)
        b.close()
    assert pwned is None
    assert dialogs == []
    assert requests == [html_path.as_uri()], requests
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
