"""Reads a GIF with Pillow, an independent decoder, and reports what it found as JSON: the frame
count, size, per-frame durations, loop count, how many pixels of the composited frames differ from
the frames the encoder meant to show (a raw RGB file), and how many bytes Pillow's own encoder
writes for those same frames with the same palette.

    python3 gif_check.py animation.gif shown.rgb
"""
import io
import json
import sys

from PIL import Image, ImageSequence

gif_path, shown_path = sys.argv[1], sys.argv[2]
image = Image.open(gif_path)
width, height = image.size
frames, durations = [], []
for frame in ImageSequence.Iterator(image):
    durations.append(frame.info.get("duration"))
    frames.append(frame.convert("RGB").tobytes())
loop = image.info.get("loop")

with open(shown_path, "rb") as f:
    shown = f.read()
size = width * height * 3
expected = [shown[i * size:(i + 1) * size] for i in range(len(shown) // size)]
mismatched = sum(sum(1 for p in range(0, size, 3) if a[p:p + 3] != b[p:p + 3])
                 for a, b in zip(frames, expected)) if len(frames) == len(expected) else -1

# Pillow's encoder on the same frames: each mapped exactly onto the same palette (every colour
# shown is a palette colour), saved as an animation with the same delays and looping.
colors = sorted({bytes(f[p:p + 3]) for f in expected for p in range(0, size, 3)})
palette_image = Image.new("P", (1, 1))
palette_image.putpalette(b"".join(colors) + bytes(3 * (256 - len(colors))))
indexed = [Image.frombytes("RGB", (width, height), f).quantize(palette=palette_image, dither=Image.Dither.NONE)
           for f in expected]
buffer = io.BytesIO()
indexed[0].save(buffer, format="GIF", save_all=True, append_images=indexed[1:], duration=durations[0], loop=0)
print(json.dumps({"frames": len(frames), "width": width, "height": height, "durations": durations, "loop": loop,
                  "mismatched_pixels": mismatched, "palette_colors": len(colors), "pillow_bytes": len(buffer.getvalue())}))
