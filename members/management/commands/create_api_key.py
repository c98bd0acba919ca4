from django.core.management.base import BaseCommand

from members.api_keys import api_key_create, store_get_or_create


class Command(BaseCommand):
    help = (
        "Create an API key for a store (creating the store if needed); the key is the last line. "
        "--partner makes the store a partner in a coalition; without it a new store is one of the "
        "program's own and an existing one keeps its kind."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("store", help="The store's name")
        parser.add_argument("--name", default="", help="A label for the key")
        parser.add_argument(
            "--partner",
            action="store_true",
            help="The store is a partner in a coalition, not one of the program's own stores",
        )

    def handle(self, *args, store: str, name: str, partner: bool, **options) -> None:
        # Without --partner an existing store keeps its kind: another key never widens what a
        # partner may see. Staff turn a partner into an own store in admin.
        store_row = store_get_or_create(name=store, is_partner=True if partner else None)
        _, raw_key = api_key_create(store=store_row, name=name)
        kind = "partner" if store_row.is_partner else "own store"
        self.stdout.write(f"Store: {store_row.name} ({store_row.code}, {kind}). The key is shown once:")
        self.stdout.write(raw_key)
