from django.apps import AppConfig


class RetrosConfig(AppConfig):
    name = "retros"
    verbose_name = "Retrospectives"

    def ready(self) -> None:
        from matching import heap

        # Large transient arrays (index loading) go back to the system when freed.
        heap.map_large_blocks()
        _connect_live_boards()


def _connect_live_boards() -> None:
    """A raising or a fix written on a retro's board reaches every open board of that retro
    (retros.live); imported rows belong to no open board."""
    from django.db.models.signals import post_save

    from retros import live
    from retros.models import Fix, Occurrence

    def changed(sender: type, instance: Occurrence | Fix, raw: bool = False, **_: object) -> None:
        if not raw and not instance.import_key and instance.retro_id is not None:
            live.touch(instance.retro_id)

    post_save.connect(changed, sender=Occurrence, dispatch_uid="live-occurrence")
    post_save.connect(changed, sender=Fix, dispatch_uid="live-fix")
