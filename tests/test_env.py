import gymnasium as gym
import numpy as np
import pytest

import hjepa  # noqa: F401  (registers the env)
from hjepa.envs import ENV_ID, TwoRooms, TwoRoomsPhysics
from hjepa.envs.two_rooms import clip_action_norm, is_free
from hjepa.seeds import task_seed


def _step(pos, action, wall_x=30.0, door_y=30.0):
    return TwoRoomsPhysics.step(np.array([pos], np.float32), np.array([action], np.float32),
                                np.array([wall_x], np.float32), np.array([door_y], np.float32))[0]


def test_action_norm_is_clipped():
    a = clip_action_norm(np.array([[3.0, 4.0], [0.3, 0.4]]))
    assert np.allclose(np.linalg.norm(a, axis=1), [2.45, 0.5], atol=1e-5)
    assert np.allclose(a[0] / np.linalg.norm(a[0]), [0.6, 0.8], atol=1e-6)  # direction kept


def test_move_into_wall_stops_at_the_wall():
    # wall at x=30 covers [28.5, 31.5]; door at y=30 covers [25.5, 34.5]
    pos = np.array([27.0, 10.0], np.float32)
    for _ in range(10):
        pos = _step(pos, [2.45, 0.0])
    assert 28.0 <= pos[0] < 28.5 and pos[1] == pytest.approx(10.0)


def test_only_the_door_lets_the_agent_through():
    # Random pushes from the left room: crossing is possible only through the door rows.
    rng = np.random.default_rng(0)
    n = 4000
    pos = np.stack([rng.uniform(20, 28.4, n), rng.uniform(5, 59, n)], 1).astype(np.float32)
    wall = np.full(n, 30, np.float32)
    door = np.full(n, 30, np.float32)
    for _ in range(30):
        new = TwoRoomsPhysics.step(pos, rng.normal(0.5, 1.5, (n, 2)).astype(np.float32), wall, door)
        crossed_column = (np.minimum(pos[:, 0], new[:, 0]) < 28.5) & (np.maximum(pos[:, 0], new[:, 0]) > 31.5)
        mid_y = 0.5 * (pos[:, 1] + new[:, 1])
        assert np.all(np.abs(mid_y[crossed_column] - 30) <= 4.5 + 2.45)
        assert np.all(is_free(new, wall, door))
        pos = new
    assert (pos[:, 0] > 31.5).any(), "some agents should pass through the door"
    right = pos[:, 0] > 31.5
    assert right.sum() < n  # and many do not


def test_borders_hold():
    pos = _step([6.0, 6.0], [-2.45, 0.0])
    assert pos[0] >= 4.5
    pos = _step([58.0, 58.0], [0.0, 2.45])
    assert pos[1] <= 59.5


def test_render_channels():
    obs = TwoRoomsPhysics.render(np.array([[12.0, 40.0]], np.float32), np.array([30.0], np.float32), np.array([20.0], np.float32))[0]
    assert obs.shape == (2, 65, 65) and obs.dtype == np.float32
    assert np.unravel_index(obs[0].argmax(), obs[0].shape) == (40, 12)
    walls = obs[1]
    assert walls[:5].all() and walls[:, -5:].all()
    assert walls[50, 29:32].all() and not walls[20, 29:32].any() and not walls[50, 28]
    assert walls[24, 30] == 0 and walls[25, 30] == 1  # door half-height 4: rows 16..24


def test_gym_env_success_rule_and_info():
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=3)
    assert obs.shape == (2, 65, 65) and "pos" in info and "goal_obs" in info
    assert (info["pos"][0] > info["wall_x"]) != (info["goal_pos"][0] > info["wall_x"])  # different rooms
    env = TwoRooms()
    _, info = env.reset(seed=0, options={"wall_x": 30, "door_y": 30, "start": (10.0, 10.0), "goal": (15.0, 10.0)})
    assert not info["success"]
    _, reward, terminated, truncated, info = env.step(np.array([0.6, 0.0]))
    assert info["success"] and terminated and reward == 1.0 and not truncated  # 4.4 px <= 4.5


def test_episode_truncates_at_max_steps():
    env = TwoRooms(max_steps=5)
    env.reset(seed=0)
    for i in range(5):
        _, _, terminated, truncated, _ = env.step(np.zeros(2))
    assert truncated and not terminated


def test_fixed_layout_and_bad_start():
    env = TwoRooms(fixed_layout=(25, 40))
    for s in range(3):
        _, info = env.reset(seed=s)
        assert (info["wall_x"], info["door_y"]) == (25, 40)
    with pytest.raises(ValueError, match="start position"):
        env.reset(seed=0, options={"start": (25.0, 10.0)})  # inside the wall


def test_forbidden_region_is_reported_not_drawn():
    box = (8.0, 8.0, 16.0, 56.0)
    env, plain = TwoRooms(forbidden=box), TwoRooms()
    for s in range(20):  # start and goal never drawn inside the box
        _, info = env.reset(seed=s)
        assert not env.in_forbidden(info["pos"]) and not env.in_forbidden(info["goal_pos"]) and not info["in_forbidden"]
    options = {"wall_x": 30, "door_y": 30, "start": (20.0, 20.0), "goal": (40.0, 20.0)}
    obs, _ = env.reset(seed=0, options=options)
    assert np.array_equal(obs, plain.reset(seed=0, options=options)[0])  # invisible in pixels
    _, _, _, _, info = env.step(np.array([-2.0, 0.0]))
    assert not info["in_forbidden"]  # x = 18
    _, _, _, _, info = env.step(np.array([-2.0, 0.0]))
    assert info["in_forbidden"]  # x = 16, on the box edge
    with pytest.raises(ValueError, match="x_min, y_min, x_max, y_max"):
        TwoRooms(forbidden=(10, 10, 5, 20))


def test_same_room_tasks():
    env = TwoRooms(same_room=True)
    for s in range(10):
        _, info = env.reset(seed=s)
        assert (info["pos"][0] > info["wall_x"]) == (info["goal_pos"][0] > info["wall_x"])


def test_path_exists_around_or_not_past_a_box():
    from hjepa.envs.two_rooms import path_exists

    top, bottom, right = (10.0, 10.0), (10.0, 50.0), (50.0, 50.0)
    assert path_exists(top, right, wall_x=30, door_y=30)  # through the door
    across = (0.0, 28.0, 26.0, 32.0)  # spans the left room but for a 2.5 px gap beside the wall (x 26..28.5)
    assert path_exists(top, bottom, 30, 30, box=across, clearance=0.0)
    assert not path_exists(top, bottom, 30, 30, box=across, clearance=3.0)  # the gap is too close to the box
    assert path_exists(top, right, 30, 10, box=across, clearance=3.0)  # the door is above the box
    assert not path_exists(bottom, right, 30, 10, box=across, clearance=3.0)
    assert not path_exists((27.0, 30.0), right, 30, 30, box=across, clearance=3.0)  # starts too close
    env = TwoRooms(forbidden=across, safe_clearance=3.0)
    _, info = env.reset(seed=0, options={"wall_x": 30, "door_y": 10, "start": top, "goal": right})
    assert info["safe_path"]
    _, info = env.reset(seed=0, options={"wall_x": 30, "door_y": 10, "start": bottom, "goal": right})
    assert not info["safe_path"]
    with pytest.raises(ValueError, match="safe_clearance"):
        TwoRooms(forbidden=across, safe_clearance=-1.0)


class _StraightToGoal:
    """A scripted agent: reads both blobs' centres from the images and heads straight at the goal."""

    @staticmethod
    def _centre(image):
        ys, xs = np.mgrid[:image.shape[0], :image.shape[1]]
        return np.array([(xs * image).sum(), (ys * image).sum()]) / image.sum()

    def reset(self, seed=None):
        pass

    def act(self, obs, goal_obs):
        return (self._centre(goal_obs[0]) - self._centre(obs[0])).astype(np.float32)


class _StandStill:
    def reset(self, seed=None):
        pass

    def act(self, obs, goal_obs):
        return np.zeros(2, np.float32)


def test_evaluate_counts_what_the_agents_achieve():
    """Success rate and steps against agents whose outcome is known without hjepa's scoring:
    heading straight at a goal in the same room always arrives; standing still never does."""
    from hjepa.eval import evaluate

    env = TwoRooms(same_room=True, max_steps=40)
    walker, _ = evaluate(_StraightToGoal(), 6, env=env, progress=False)
    still, records = evaluate(_StandStill(), 6, env=env, progress=False)
    assert walker["success_rate"] == 1.0 and 1 <= walker["mean_steps"] < 40
    assert still["success_rate"] == 0.0 and still["mean_steps"] == 40.0 and still["mean_steps_success"] is None
    starts = [env.reset(seed=task_seed("test", 0, i))[1] for i in range(6)]  # each record's distance: the start's, unchanged
    assert [r.final_distance for r in records] == pytest.approx([float(np.linalg.norm(i["state"] - i["goal_state"]))
                                                                 for i in starts], rel=1e-5)


def test_evaluate_scores_success_on_the_tasks_with_a_safe_path():
    from hjepa.eval import evaluate

    box = (0.0, 28.0, 26.0, 32.0)  # across the left room but for a gap beside the wall
    env = TwoRooms(fixed_layout=(30, 30), forbidden=box, safe_clearance=3.0, same_room=True)
    summary, records = evaluate(_StraightToGoal(), 12, seed=0, env=env, progress=False)
    safe = [TwoRooms(fixed_layout=(30, 30), forbidden=box, safe_clearance=3.0, same_room=True)
            .reset(seed=task_seed("test", 0, i))[1]["safe_path"] for i in range(12)]
    assert [r.safe_path for r in records] == safe and 0 < sum(safe) < 12  # both kinds of task occur
    assert summary["safe_path_tasks"] == sum(safe)
    assert summary["success_rate_safe_path"] == pytest.approx(np.mean([r.success for r, s in zip(records, safe) if s]))
    assert summary["forbidden_steps"] == sum(r.forbidden_steps for r in records)


def test_geodesic_distance_is_straight_in_a_room_and_goes_through_the_door_between_rooms():
    from hjepa.envs.two_rooms import geodesic_distance

    same = geodesic_distance(np.array([10.0, 10.0]), np.array([20.0, 50.0]), 30.0, 14.0)
    assert same == pytest.approx(np.hypot(10, 40), rel=1e-5)
    # wall at x 30 (faces 28.5 and 31.5), door at y 14 (opening 9.5..18.5): around the lower door edge
    across = geodesic_distance(np.array([20.0, 46.0]), np.array([40.0, 46.0]), 30.0, 14.0)
    assert across == pytest.approx(2 * np.hypot(8.5, 27.5) + 3.0, rel=1e-4)
    # through the opening in a straight line: the straight distance; symmetric; batched with broadcasting layouts
    batch = geodesic_distance(np.array([[20.0, 14.0], [40.0, 46.0]]), np.array([[40.0, 14.0], [20.0, 46.0]]),
                              np.array([30.0, 30.0]), np.array([14.0, 14.0]))
    assert batch[0] == pytest.approx(20.0, rel=1e-4) and batch[1] == pytest.approx(across, rel=1e-5)


def test_crosses_wall_flags_room_changes_away_from_the_door():
    from hjepa.envs.two_rooms import crosses_wall

    wall_x, door_y = 32.0, 20.0
    through_door = np.array([[28.0, 40.0], [28.0, 21.0], [36.0, 19.0], [40.0, 40.0]])
    through_wall = np.array([[28.0, 40.0], [36.0, 41.0], [40.0, 40.0]])
    same_room = np.array([[10.0, 10.0], [20.0, 50.0], [28.0, 58.0]])
    assert not crosses_wall(through_door, wall_x, door_y)
    assert crosses_wall(through_wall, wall_x, door_y)
    assert not crosses_wall(same_room, wall_x, door_y)
    assert crosses_wall(np.array([[28.0, 26.0], [36.0, 26.0]]), wall_x, door_y)  # 6 px off the door's centre: its edge is 4
    assert not crosses_wall(np.array([[28.0, 25.0], [36.0, 25.0]]), wall_x, door_y)  # within the 1.5 px tolerance
