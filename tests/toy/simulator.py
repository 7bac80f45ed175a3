"""The toy provider's API: customers with an id and a name, in pages, by id, or several ids."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PAGE_SIZE = 2
API_KEY = "toy-key"


class ToyShop:
    """Usage: `ToyShop({"t1": "Teddy"}).app`; `rename(id, name)` changes a customer."""

    def __init__(self, toys: dict[str, str]) -> None:
        self.toys = dict(toys)
        self.app = Starlette(
            routes=[Route("/toys", self._list), Route("/toys/{toy_id}", self._one)]
        )

    def rename(self, toy_id: str, name: str) -> None:
        self.toys[toy_id] = name

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("x-toy-key") == API_KEY

    async def _list(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        ids = request.query_params.get("ids")
        if ids is not None:
            wanted = [i for i in ids.split(",") if i in self.toys]
            return JSONResponse({"toys": [self._toy(i) for i in wanted], "next": None})
        page = int(request.query_params.get("page", "1"))
        ordered = sorted(self.toys)
        chunk = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(ordered)
        return JSONResponse(
            {"toys": [self._toy(i) for i in chunk], "next": page + 1 if more else None}
        )

    async def _one(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        toy_id = request.path_params["toy_id"]
        if toy_id not in self.toys:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(self._toy(toy_id))

    def _toy(self, toy_id: str) -> dict[str, str]:
        return {"id": toy_id, "name": self.toys[toy_id]}


__all__ = ["API_KEY", "PAGE_SIZE", "ToyShop"]
