"""Textual's compositor, minus the renders a partial update throws away.

For a partial update (a line of the transcript changed) Textual renders every visible
widget whose *clip* overlaps the changed region. A widget placed directly on the
screen is clipped by the whole screen, so each new word of the transcript also
rendered the call's details, the activity line, the controls and the key hints, and
then dropped all their lines: about a sixth of the panel's CPU per update. And of
each widget it rendered every row, to use only the rows that changed. This compositor
renders only the widgets whose own region overlaps the change, and of them only the
rows the change spans. The frame is the same (`tests/test_panel.py` paints every
update onto a grid and compares it with a full render).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class CroppedCompositor(Compositor):
    """Set as a screen's `_compositor` right after `Screen.__init__`."""

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:  # a full update: every widget
            yield from super()._get_renders(crop)
            return
        overlaps = crop.overlaps
        top, bottom = crop.y, crop.bottom
        for widget, (region, clip) in self.visible_widgets.items():
            if not (overlaps(clip) and overlaps(region)):
                continue
            x, y, width, height = region.intersection(clip)
            y, end = max(y, top), min(y + height, bottom)  # only the rows that changed
            if width and end > y:
                shown = Region(x, y, width, end - y)
                yield shown, shown, widget.render_lines(shown.translate(-region.offset))
