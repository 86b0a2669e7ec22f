// What the agents' view draws about the customer's screen (annotate.js calls these):
// the outline of the part of the picture the customer's phone shows, with the rest
// dimmed, and a warning flag on marks the customer cannot see. Painting only.

/**
 * Dim the picture outside `shown` and outline `shown` with a thin dashed line.
 * picture: where the whole picture lies in the box; shown: the customer's part; box:
 * the canvas's size (all in box pixels).
 */
export function paintOutline(ctx, picture, shown, box) {
  const left = Math.max(0, picture.x);
  const top = Math.max(0, picture.y);
  const right = Math.min(box.width, picture.x + picture.width);
  const bottom = Math.min(box.height, picture.y + picture.height);
  ctx.save();
  ctx.fillStyle = 'rgba(0, 0, 0, 0.45)';
  ctx.beginPath();
  ctx.rect(left, top, right - left, bottom - top);
  ctx.rect(shown.x, shown.y, shown.width, shown.height);
  ctx.fill('evenodd');
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
  ctx.shadowColor = 'rgba(0, 0, 0, 0.8)';
  ctx.shadowBlur = 2;
  ctx.strokeRect(shown.x + 0.75, shown.y + 0.75, Math.max(0, shown.width - 1.5), Math.max(0, shown.height - 1.5));
  ctx.restore();
}

/**
 * A warning flag at `at` (box pixels): an amber disc with "!" and, beside it, `text`
 * ("outside the customer's screen"), kept inside the box.
 */
export function paintFlag(ctx, at, text, size, alpha, box) {
  const radius = size * 0.75;
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.font = `700 ${size}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  const textWidth = text ? ctx.measureText(text).width : 0;
  const width = radius * 2 + (text ? size * 0.5 + textWidth + size * 0.6 : 0);
  const height = radius * 2 + 4;
  const x = Math.min(Math.max(0, at.x - radius), Math.max(0, box.width - width));
  const y = Math.min(Math.max(0, at.y - radius * 3), Math.max(0, box.height - height));
  ctx.fillStyle = 'rgba(17, 24, 39, 0.85)';
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(x - 2, y - 2, width + 4, height, height / 2);
  else ctx.rect(x - 2, y - 2, width + 4, height);
  ctx.fill();
  ctx.fillStyle = '#f59e0b';
  ctx.beginPath();
  ctx.arc(x + radius, y + radius, radius, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = '#111827';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText('!', x + radius, y + radius + 0.5);
  if (text) {
    ctx.fillStyle = '#fde68a';
    ctx.textAlign = 'left';
    ctx.fillText(text, x + radius * 2 + size * 0.5, y + radius + 0.5);
  }
  ctx.restore();
}
