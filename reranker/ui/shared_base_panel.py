"""The FAQ base tab's "Save for the team": a lead stores the uploaded CSV as a base every desk serves.

The handler, not the page, decides who may: an agent who clicks gets "Only a lead can ..."
(:func:`reranker.feedback.team.require_lead`, inside :meth:`SharedBases.save`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from reranker.desk.results import render_message
from reranker.errors import InvalidInput, RerankError
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.i18n import Lang, t
from reranker.ui.i18n import I18N, lang_of, user_errors


@dataclass
class SharePanel:
    name: gr.Textbox
    save: gr.Button
    message: gr.HTML


def build_share_panel() -> SharePanel:
    with gr.Row(equal_height=True, elem_id="share-base"):
        name = gr.Textbox(label=I18N("share_name"), max_lines=1, scale=3, elem_id="share-name")
        save = gr.Button(I18N("share_save"), scale=1, min_width=160, elem_id="share-save")
    message = gr.HTML(apply_default_css=False, elem_id="share-message")
    return SharePanel(name, save, message)


def save_for_team(shared: SharedBases, team: Team, upload: str | None, name: str | None,
                  user: str | None, lang: Lang = "en") -> tuple[str, dict[str, Any]]:  # fmt: skip
    """Store the upload as the team's base ``name`` (the file's name when empty): a message, and the
    base dropdown's new choices (unchanged when nothing was saved)."""
    try:
        if not upload:
            raise InvalidInput.of("no_upload")
        path = Path(upload)
        info = shared.save((name or "").strip() or path.stem, path.read_bytes(), filename=path.name,
                           by=team.member(user))  # fmt: skip
    except RerankError as exc:
        return render_message(exc.message(lang), "error"), gr.update()
    return render_message(t("share_saved", lang, name=info.name), "ok"), gr.update(
        choices=shared.registry.names, value=info.name
    )


def wire_share_panel(shared: SharedBases, team: Team, panel: SharePanel, upload: gr.File, base: gr.Dropdown) -> None:
    @user_errors
    def on_save(file: str | None, name: str | None, request: gr.Request) -> tuple[str, dict[str, Any]]:
        return save_for_team(shared, team, file, name, getattr(request, "username", None), lang_of(request))

    panel.save.click(on_save, [upload, panel.name], [panel.message, base], api_visibility="private")
