"""The one stylesheet of the widgets, injected once through an ``ipywidgets.HTML``.

Class names start with ``f2w-``. Colours fall back from JupyterLab's theme
variables so the widgets read well in light and dark themes and on a projector.
"""

from __future__ import annotations

import ipywidgets as widgets

__all__ = ["CSS", "style_widget"]

CSS = """
.f2w { font-size: 14px; color: var(--jp-ui-font-color1, #1f2328); }
.f2w-html > .widget-html-content { height: auto; line-height: 1.45; }
.f2w-studio { gap: 12px; max-width: 1400px; }

/* header */
.f2w-header { align-items: center; gap: 12px; flex-wrap: wrap; padding: 10px 16px; border-radius: 12px;
  background: var(--jp-layout-color2, #f3f4f6); border: 1px solid var(--jp-border-color2, #e5e7eb); }
.f2w-title { font-size: 22px; font-weight: 750; letter-spacing: -0.01em; }
.f2w-title small { font-size: 13px; font-weight: 500; color: var(--jp-ui-font-color2, #57606a);
  margin-left: 8px; }
.f2w-badge { display: inline-block; padding: 4px 12px; border-radius: 999px; font-size: 13px;
  font-weight: 700; }
.f2w-badge--sim { background: #f59e0b; color: #1f1300; }
.f2w-badge--live { background: #15803d; color: #fff; }
.f2w-session { margin-left: auto; font-size: 15px; font-weight: 650; }
.f2w-session small { font-weight: 500; color: var(--jp-ui-font-color2, #57606a); }

/* control panel */
.f2w-panel { gap: 20px; flex-wrap: wrap; align-items: flex-start; padding: 14px 16px;
  border-radius: 12px;
  border: 1px solid var(--jp-border-color2, #e5e7eb); background: var(--jp-layout-color1, #fff); }
.f2w-col { flex: 1 1 340px; min-width: 280px; gap: 12px; }
.f2w-field { gap: 4px; }
.f2w-field-title > .widget-html-content { font-size: 12px; font-weight: 700; text-transform: uppercase;
  letter-spacing: 0.05em; color: var(--jp-ui-font-color2, #57606a); }
.f2w-note > .widget-html-content { font-size: 12.5px; color: var(--jp-ui-font-color2, #57606a); }
.f2w-error > .widget-html-content { font-size: 13.5px; font-weight: 600; color: #d1242f; }
.f2w-field--invalid textarea, .f2w-field--invalid .f2w-seg-btn.mod-active { outline: 2px solid #d1242f; }
.f2w-prompt textarea { font-size: 15px; line-height: 1.4; }
.f2w .f2w-wide { width: auto; margin-left: 0; margin-right: 0; }

/* segmented choices */
.f2w-seg { flex-wrap: wrap; gap: 4px; }
.f2w-seg-btn { width: auto; min-width: 46px; padding: 0 12px; border-radius: 7px; font-weight: 600; }
.f2w-seg-btn.mod-active { background: #2563eb; color: #fff; box-shadow: none; }
.f2w-seg-btn:disabled { opacity: 0.4; text-decoration: line-through; cursor: not-allowed; }

/* action bar */
.f2w-actionbar { align-items: center; gap: 10px; flex-wrap: wrap; }
.f2w-actionbar > .f2w-cost { flex: 1 1 320px; }
/* Buttons keep their full labels: the row wraps instead of squeezing them into "Gene…". */
.f2w-buttons { gap: 8px; margin-left: auto; flex-wrap: wrap; align-items: center; max-width: 100%; }
.f2w .jupyter-button.f2w-btn, .f2w .jupyter-button.f2w-generate, .f2w-seg-btn { flex: 0 0 auto;
  overflow: visible; }
.f2w-cost > .widget-html-content { font-size: 16px; font-weight: 650; }
.f2w-cost--over > .widget-html-content { color: #d1242f; }
.f2w-generate { font-size: 15px; font-weight: 700; height: 36px; padding: 0 22px; border-radius: 8px; }
.f2w-btn { border-radius: 7px; }
.f2w-message > .widget-html-content { padding: 8px 12px; border-radius: 8px; background: #fee2e2;
  color: #7f1d1d;
  font-weight: 600; }
.f2w-message--info > .widget-html-content { background: #dbeafe; color: #1e3a8a; }
.f2w-empty > .widget-html-content { padding: 28px; text-align: center;
  border: 2px dashed var(--jp-border-color2, #e5e7eb);
  border-radius: 12px; color: var(--jp-ui-font-color2, #57606a); }

/* gallery and tiles */
.f2w-gallery { gap: 14px; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr));
  align-items: start; }
.f2w-tile { gap: 6px; padding: 10px; border-radius: 12px;
  border: 1px solid var(--jp-border-color2, #e5e7eb);
  background: var(--jp-layout-color1, #fff); box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); min-width: 0; }
.f2w-tile--completed { border-color: #86efac; }
.f2w-tile--failed { border-color: #f87171; }
.f2w-tile--stopped { border-color: #fcd34d; }
.f2w-tile-head { align-items: center; gap: 8px; }
.f2w-tile-title > .widget-html-content { font-weight: 700; font-size: 14px; }
.f2w-elapsed > .widget-html-content { font-variant-numeric: tabular-nums;
  color: var(--jp-ui-font-color2, #57606a); }
.f2w-thumb { width: 100%; height: auto; border-radius: 8px; object-fit: contain;
  background: rgba(127, 127, 127, 0.08); }
.f2w-placeholder { width: 100%; border-radius: 8px; display: flex; align-items: center;
  justify-content: center;
  text-align: center; color: var(--jp-ui-font-color2, #57606a); font-weight: 600; padding: 8px;
  box-sizing: border-box;
  background: linear-gradient(100deg, rgba(127,127,127,0.08) 30%, rgba(127,127,127,0.18) 50%,
    rgba(127,127,127,0.08) 70%);
  background-size: 300% 100%; animation: f2w-shimmer 1.6s linear infinite; }
.f2w-placeholder--still { animation: none; }
@keyframes f2w-shimmer { from { background-position: 100% 0; } to { background-position: 0 0; } }
.f2w-caption > .widget-html-content { font-size: 13px; color: var(--jp-ui-font-color2, #57606a);
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;
  min-height: 2.9em; }
.f2w-chip { display: inline-block; padding: 1px 9px; margin: 0 4px 4px 0; border-radius: 999px;
  font-size: 12.5px;
  font-weight: 650; background: var(--jp-layout-color2, #eef1f4); white-space: nowrap; }
.f2w-chip--accent { background: #e0e7ff; color: #3730a3; }
.f2w-st-queued { background: #f3f4f6; color: #4b5563; }
.f2w-st-submitting, .f2w-st-pending { background: #e5e7eb; color: #374151; }
.f2w-st-downloading { background: #dbeafe; color: #1d4ed8; }
.f2w-st-processing { background: #dbeafe; color: #1d4ed8; }
.f2w-st-completed { background: #dcfce7; color: #166534; }
.f2w-st-failed { background: #fee2e2; color: #991b1b; }
.f2w-st-stopped { background: #fef3c7; color: #92400e; }
.f2w-st-submitting::before, .f2w-st-pending::before, .f2w-st-processing::before,
.f2w-st-downloading::before { content: ""; display: inline-block;
  width: 7px; height: 7px;
  margin-right: 6px; border-radius: 50%; background: currentColor;
  animation: f2w-pulse 1s ease-in-out infinite; }
@keyframes f2w-pulse { 50% { opacity: 0.25; } }
.f2w-tile-error > .widget-html-content { font-size: 13px; color: #991b1b; background: #fee2e2;
  border-radius: 6px;
  padding: 6px 8px; word-break: break-word; }
.f2w-tile-actions { flex-wrap: wrap; gap: 4px; }
.f2w-tile-actions .f2w-btn { width: auto; padding: 0 10px; font-size: 12.5px; }
.f2w-code > .widget-html-content pre { font-family: var(--jp-code-font-family, monospace);
  font-size: 12.5px;
  white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; padding: 8px 10px; border-radius: 6px;
  max-height: 280px;
  overflow: auto; background: var(--jp-layout-color2, #f6f8fa); }
.f2w-viewer { gap: 6px; padding: 10px; border-radius: 12px;
  border: 1px solid var(--jp-border-color2, #e5e7eb); }
.f2w-viewer-img { max-width: 100%; height: auto; border-radius: 8px; }
.f2w-money--may-still-be-billed { background: #fef3c7; color: #92400e; }
.f2w-money--not-charged { background: #f3f4f6; color: #4b5563; }
.f2w .f2w-download-btn { width: auto; height: var(--jp-widgets-inline-height, 28px); padding: 0 10px;
  border-radius: 7px; font-size: 12.5px; }
/* ipywidgets dims only its own buttons (.jupyter-widgets.jupyter-button:disabled) */
.f2w .f2w-download-btn:disabled { opacity: var(--jp-widgets-disabled-opacity, 0.6); cursor: not-allowed; }
.f2w-download > .widget-html-content a { display: inline-block; padding: 2px 10px; border-radius: 7px;
  font-size: 12.5px; font-weight: 600; background: #dcfce7; color: #166534; text-decoration: none; }

/* The static twin of a view is for readers without widgets: where this stylesheet is live,
   the widgets are too, so the twin (and its output row) is hidden. */
.f2w-static, .jp-OutputArea-child:has(.f2w-static), .output_area:has(.f2w-static) { display: none; }

/* comparison grids: places not offered, a take's full card, the vote keys */
.f2w-cmp-skipped > .widget-html-content { height: 100%; }
.f2w-cmp-skipped .f2w-skip { height: 100%; min-height: 96px; display: flex; align-items: center;
  justify-content: center; text-align: center; padding: 10px; border-radius: 12px; font-size: 13px;
  color: var(--jp-ui-font-color2, #57606a); border: 1px dashed var(--jp-border-color1, #d0d7de);
  background: repeating-linear-gradient(135deg, transparent 0 8px, rgba(127, 127, 127, .06) 8px 16px); }
.f2w-cmp-details { gap: 6px; min-width: 0; }
.f2w-cmp-details-head { align-items: center; gap: 8px; }
.f2w-keys-hint { font-size: 12px; color: var(--jp-ui-font-color2, #57606a); }
.f2w-keys-hint.mod-sent { color: #2563eb; }

/* What a class app's visitor may still spend, under Generate. */
.f2w-quota > .widget-html-content { font-size: 15px; font-weight: 650; padding: 6px 12px;
  border-radius: 8px; background: #ecfdf5; color: #065f46; }
.f2w-quota.f2w-quota--short > .widget-html-content { background: #fef3c7; color: #92400e; }

/* Presenter (Studio(presenter=True)): on a wide screen (a 1366x900 projector and up) the
   results sit beside the controls, at the top, in view the moment they arrive; on a narrow
   one they wrap below. The controls' two columns stack inside their own. */
.f2w-studio.f2w-presenter { max-width: none; }
.f2w-stage { gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.f2w-stage-controls { flex: 0 1 520px; min-width: 340px; gap: 10px; }
.f2w-stage-results { flex: 1 1 560px; min-width: 0; gap: 12px; }
.f2w-presenter .f2w-panel { gap: 10px; padding: 12px 14px; }
.f2w-presenter .f2w-col { flex: 1 1 100%; min-width: 0; gap: 8px; }
.f2w-presenter .f2w-header { padding: 8px 16px; }
.f2w-presenter .f2w-settings { display: grid; grid-template-columns: auto 1fr; gap: 8px 18px;
  align-items: start; }
.f2w-presenter .f2w-settings > .f2w-field--wide { grid-column: 1 / -1; }
.f2w-presenter .f2w-gallery { grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); }
/* a tall (9:16) image still leaves its tile on the screen */
.f2w-presenter .f2w-thumb { max-height: 55vh; }
.f2w-presenter .f2w-empty > .widget-html-content { padding: 96px 28px; }

/* Large type (Studio(large_type=True)): readable from the back of a room. */
.f2w-large { font-size: 17px; }
.f2w-large .f2w-title { font-size: 28px; }
.f2w-large .f2w-title small { font-size: 15px; }
.f2w-large .f2w-badge { font-size: 16px; padding: 5px 14px; }
.f2w-large .f2w-session { font-size: 18px; }
.f2w-large .f2w-prompt textarea { font-size: 21px; line-height: 1.35; }
.f2w-large .f2w-field-title > .widget-html-content { font-size: 14px; }
.f2w-large .f2w-note > .widget-html-content { font-size: 15px; }
.f2w-large .f2w-error > .widget-html-content { font-size: 16px; }
.f2w-large .f2w-seg-btn { font-size: 17px; height: 36px; min-width: 52px; padding: 0 9px; }
.f2w-large .jupyter-button.f2w-btn { font-size: 16px; height: 36px; }
.f2w-large .jupyter-button.f2w-generate { font-size: 19px; height: 44px; padding: 0 28px; }
.f2w-large .f2w-cost > .widget-html-content { font-size: 19px; }
.f2w-large .f2w-quota > .widget-html-content { font-size: 19px; }
.f2w-large .f2w-message > .widget-html-content { font-size: 17px; }
.f2w-large .f2w-empty > .widget-html-content { font-size: 19px; }
.f2w-large .f2w-tile-title > .widget-html-content { font-size: 18px; }
.f2w-large .f2w-elapsed > .widget-html-content { font-size: 16px; }
.f2w-large .f2w-chip { font-size: 15px; }
.f2w-large .f2w-caption > .widget-html-content { font-size: 16px; }
.f2w-large .f2w-tile-error > .widget-html-content { font-size: 16px; }
.f2w-large .f2w-tile-actions .f2w-btn, .f2w-large .f2w-download-btn { font-size: 15px; height: 34px; }
"""


_style_widget: widgets.HTML | None = None


def style_widget() -> widgets.HTML:
    """The shared ``<style>`` widget; every top-level view includes this one instance."""
    global _style_widget
    if _style_widget is None or getattr(_style_widget, "comm", None) is None:
        _style_widget = widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(display="none"))
        _style_widget.add_class("f2w-style")
    return _style_widget
