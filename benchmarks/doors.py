"""Each door's classifier configuration: what every set of views costs per face on this machine, what it
scores on PublicTest, and which one each door (`detector.DOOR_VIEWS`) runs under its budget.

The rule: a door runs the most accurate set of views on PublicTest whose cost fits its budget. The photo
door (image page, `image` CLI, a batch's photos) has 100 ms per face; the webcam and video doors run the
views the model was exported for, chosen for the webcam's 3 ms per frame (`classifier_cost`; video must
also stay 8x faster than real time, `video_analysis`). Cost as in `classifier_cost`: one face per call,
preprocessing included, one thread, median of 300 PublicTest faces per round, median of the rounds.

    python -m benchmarks.doors [--rounds 3]     (from the project root)
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.classifier_cost import FACES, ms_per_face
from emodetect.classifier import TTA_VIEWS, EmotionClassifier, recorded_views
from emodetect.data import load_fer2013
from emodetect.detector import DOOR_VIEWS, door_views
from emodetect.paths import LITE_MODEL, default_data_dir
from emodetect.training.evaluate import accuracy_by_views

PHOTO_BUDGET_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(default_data_dir()))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    public = load_fer2013(args.data)["PublicTest"]
    shipped = EmotionClassifier.load()
    accuracy = accuracy_by_views(shipped, public)
    costs = {views: [] for views in TTA_VIEWS}
    for _ in range(args.rounds):  # interleaved, so a change in the shared machine's speed meets every set
        for views in TTA_VIEWS:
            costs[views].append(ms_per_face(shipped.with_views(views), public.images[:FACES]))
    cost = {views: statistics.median(times) for views, times in costs.items()}
    print(f"The shipped model; one face per call, {FACES} PublicTest faces x {args.rounds} rounds; "
          f"PublicTest accuracy of all {len(public):,}\n")
    print(f"| views | ms per face | x plain | PublicTest accuracy | within {PHOTO_BUDGET_MS:.0f} ms (photo) |")
    print("|---|---|---|---|---|")
    for views in TTA_VIEWS:
        print(f"| {views} | {cost[views]:.1f} | {cost[views] / cost['plain']:.2f} | {accuracy[views]:.4f} | "
              f"{'yes' if cost[views] <= PHOTO_BUDGET_MS else 'no'} |")
    affordable = [views for views in TTA_VIEWS if cost[views] <= PHOTO_BUDGET_MS]
    best = max(affordable, key=accuracy.get) if affordable else None
    recorded = recorded_views(LITE_MODEL)
    print("\n| door | views | ms per face | PublicTest accuracy |")
    print("|---|---|---|---|")
    for door in DOOR_VIEWS:
        views = door_views(door, recorded)
        print(f"| {door} | {views} | {cost[views]:.1f} | {accuracy[views]:.4f} |")
    print(f"\nThe rule picks {best} for photos (DOOR_VIEWS has {door_views('photo', recorded)}).")


if __name__ == "__main__":
    main()
