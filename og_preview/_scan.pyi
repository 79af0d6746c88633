def tokens(
    data: bytes, body_at: int, max_fragments: int, max_bytes: int, max_times: int, /
) -> tuple[bytes | None, bytes | None, list[bytes], list[tuple[int, int]], list[bytes]]: ...
def signal_tags(
    data: bytes,
    body_at: int,
    skipped: list[tuple[int, int]],
    words: tuple[bytes, ...],
    max_windows: int,
    max_hits: int,
    big_skip: int,
    /,
) -> list[int]: ...
