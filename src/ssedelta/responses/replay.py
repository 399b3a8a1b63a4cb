def replay_dicts(*a, **k): pass
def replay_sse(*a, **k): pass
