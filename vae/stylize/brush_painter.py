"""The brush kept to the clip: Magenta's network (vae/models/brush.py) repaints the frames at
its working size, the previous output there is carried along the clip's optical flow where the
flow explains the new frame (Ruder et al. 2016), so that strokes move with the scene instead of
flickering, and the result, scaled up, gets back the frame's own fine detail (what a Gaussian
of DETAIL_SIGMA removes) at the output's size.

The flow is OpenCV's DIS, measured on the input frames at the working size: the benchmarks
grade stability with Farneback's flow, a different estimator, so that the blending is not
graded by its own tool.
"""
import numpy as np

from vae.models.brush import working_size

DETAIL_SIGMA = 3.0  # the frame's detail finer than this Gaussian (pixels of the output) ...
DETAIL = 1.0  # ... added back to the strokes with this weight
STEADINESS = 0.95  # share of the previous strokes carried along the flow where it holds
FLOW_TOLERANCE = 0.3  # mean absolute difference at which a warped pixel no longer counts


class BrushPainter:
    """painted(styled, originals, paint) -> uint8 frames styled + paint * (P - styled): styled
    (uint8) repainted by a Brush into P, originals the clip's own frames at the same size.

    s_t = B(y_t) at the working size, then s_t += steadiness * m * (warp(s_(t-1)) - s_t), warp
    following the optical flow from x_t to x_(t-1) and m (0 to 1) how well the warped x_(t-1)
    matches x_t; P_t = up(s_t) + detail * (x_t - blur(x_t)), clipped to [0, 1]. State runs
    across calls: one instance per clip, its frames in order. Each frame is one pass of
    OpenCV's operations at the output's size, which on 720p frames costs less than the
    network."""

    def __init__(self, brush, detail=DETAIL, steadiness=STEADINESS):
        import cv2

        self.brush, self.detail, self.steadiness = brush, detail, steadiness
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.previous = None  # (the last strokes, the last original at the working size)
        self.grid = None

    def __call__(self, styled, originals, paint=1.0):
        import cv2

        height, width = originals.shape[1:3]
        size = working_size(width, height, self.brush.side)
        out = np.empty(originals.shape, np.uint8)
        for i, (image, original) in enumerate(zip(styled, originals)):
            small = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
            strokes = self.brush(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
            if self.previous is not None and self.steadiness > 0:
                strokes = self._steadied(strokes, small)
            self.previous = (strokes, small)
            frame = cv2.resize(strokes, (width, height), interpolation=cv2.INTER_CUBIC)
            if self.detail:  # x - blur(x), in levels of 1/255
                fine = cv2.subtract(original, cv2.GaussianBlur(original, (0, 0), DETAIL_SIGMA),
                                    dtype=cv2.CV_32F)
                frame = cv2.scaleAdd(fine, self.detail / 255.0, frame)
            np.clip(frame, 0.0, 1.0, out=frame)
            if paint < 1:
                frame = cv2.addWeighted(frame, paint, image.astype(np.float32), (1 - paint) / 255,
                                        0.0)
            out[i] = cv2.convertScaleAbs(frame, alpha=255.0)  # rounded, saturated
        return out

    def _steadied(self, strokes, small):
        import cv2

        last, last_small = self.previous
        if self.grid is None or self.grid[0].shape != small.shape[:2]:
            self.grid = np.meshgrid(np.arange(small.shape[1], dtype=np.float32),
                                    np.arange(small.shape[0], dtype=np.float32))
        flow = self.flow.calc(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
                              cv2.cvtColor(last_small, cv2.COLOR_RGB2GRAY), None)
        map_x, map_y = self.grid[0] + flow[..., 0], self.grid[1] + flow[..., 1]

        def warp(image):  # where each pixel of this frame was in the last
            return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)

        mismatch = np.abs(warp(last_small) - small.astype(np.float32)).mean(-1, keepdims=True)
        held = self.steadiness * np.clip(1.0 - mismatch / (255.0 * FLOW_TOLERANCE), 0.0, 1.0)
        return strokes + held * (warp(last) - strokes)
