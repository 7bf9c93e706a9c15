// Generated from openapi.yaml by scripts/generate-contract.mjs (pnpm gen). Do not edit.
import type { ContractDocument } from '../contract/types.js';

export const CONTRACT: ContractDocument = {
  "openapi": "3.1.0",
  "info": {
    "title": "Latchkey API",
    "version": "0.1.0",
    "summary": "Issue, verify and govern API credentials.",
    "description": "Latchkey issues, verifies and governs API credentials: API keys, API tokens and login\nsessions. This document is the contract: the server, the SDK, the mock and the docs\nare all derived from it.\n\n## Authentication\n\nEvery operation outside the `meta` tag and the login/token endpoints needs one\ncredential. Six methods are accepted, each can be switched off by the operator:\n\n| method | request | `X-Auth-Method` |\n|---|---|---|\n| API key header | `X-API-Key: <key>` | `HeaderTokenAuth` |\n| Bearer | `Authorization: Bearer <key or login JWT>` | `BearerTokenAuth` / `JwtAuth` |\n| Token | `Authorization: Token <key>` | `TokenAuth` |\n| Query | `?api_key=<key>` | `QueryParamTokenAuth` |\n| Basic | `Authorization: Basic base64(username:password)` | `BasicAuth` |\n| Session | the `latchkey_session` cookie set by login; unsafe methods also need `X-CSRF-Token` | `SessionAuth` |\n\nSend one credential per request: two explicit credentials are refused with 400. The\nsession cookie is ambient (a browser sends it on its own), so it is ignored when an\nexplicit credential is present.\n\nEvery authenticated response carries `X-Auth-Method`, `X-Auth-Expires`,\n`X-Auth-Token-Id`, `X-Auth-User-Id` and `X-Auth-User-Username`.\n\n## Errors\n\nEvery error is an `application/problem+json` document (RFC 9457) with a stable `code`;\nits `type` links to the page that explains the code.\n",
    "license": {
      "name": "MIT",
      "identifier": "MIT"
    }
  },
  "servers": [
    {
      "url": "http://127.0.0.1:8800",
      "description": "A local Latchkey server started with `pnpm start`.",
      "x-internal": false
    }
  ],
  "tags": [
    {
      "name": "meta",
      "description": "Service metadata, health and the contract itself. No authentication."
    },
    {
      "name": "auth",
      "description": "Logging in and out, identity, and the ArchiveBox-style token endpoints."
    },
    {
      "name": "keys",
      "description": "The caller's own API keys: create, list, read, narrow, rotate, deactivate, delete."
    },
    {
      "name": "admin",
      "description": "Superusers only: every key and user, lockouts, and the audit log."
    },
    {
      "name": "webhooks",
      "description": "Superusers only: outbound webhooks, signed to the Standard Webhooks specification, and their delivery log. The events they receive are under Webhooks."
    }
  ],
  "security": [
    {
      "ApiKeyHeader": []
    },
    {
      "BearerAuth": []
    },
    {
      "TokenAuth": []
    },
    {
      "QueryApiKey": []
    },
    {
      "BasicAuth": []
    },
    {
      "SessionCookie": []
    }
  ],
  "paths": {
    "/": {
      "get": {
        "operationId": "getRoot",
        "tags": [
          "meta"
        ],
        "summary": "Service root",
        "description": "The service's name, version and links to the reference and the other exempt\nendpoints. A browser, which asks for `text/html` before anything else, gets a small\nHTML page with the same links; every other client gets JSON.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "Name, version and links.",
            "headers": {
              "Vary": {
                "description": "`Accept`, `Accept-Encoding`: the answer depends on the media type and encoding asked for.",
                "schema": {
                  "type": "string",
                  "maxLength": 64,
                  "pattern": "^[A-Za-z-]+(, ?[A-Za-z-]+)*$"
                }
              },
              "Content-Security-Policy": {
                "$ref": "#/components/headers/Content-Security-Policy"
              },
              "X-Content-Type-Options": {
                "$ref": "#/components/headers/X-Content-Type-Options"
              },
              "Referrer-Policy": {
                "$ref": "#/components/headers/Referrer-Policy"
              },
              "X-Frame-Options": {
                "$ref": "#/components/headers/X-Frame-Options"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Root"
                },
                "example": {
                  "name": "Latchkey",
                  "version": "0.1.0",
                  "links": {
                    "docs": "/docs",
                    "health": "/health",
                    "meta": "/meta",
                    "openapi_json": "/openapi.json",
                    "openapi_yaml": "/openapi.yaml"
                  }
                }
              },
              "text/html": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Latchkey 0.1.0</title></head>\n<body><main><h1>Latchkey 0.1.0</h1><ul><li><a href=\"/docs\">API reference</a> <code>/docs</code></li>…</ul></main></body></html>\n"
              }
            }
          },
          "304": {
            "$ref": "#/components/responses/NotModified"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/health": {
      "get": {
        "operationId": "getHealth",
        "tags": [
          "meta"
        ],
        "summary": "Health check",
        "description": "Checks that the database answers. Load balancers should route only to instances that answer 200.",
        "security": [],
        "responses": {
          "200": {
            "description": "The service and its database are up.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                },
                "example": {
                  "status": "ok",
                  "database": "ok"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "description": "The database does not answer.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                },
                "example": {
                  "status": "unavailable",
                  "database": "unreachable"
                }
              }
            }
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "getMetrics",
        "tags": [
          "meta"
        ],
        "summary": "Prometheus metrics",
        "description": "Metrics in the Prometheus text format (version 0.0.4): requests by operationId and\nstatus with latency histograms, authentications by method and outcome, rate-limit\nrefusals and lockouts, the credential cache, the key-usage writer's backlog and the\nprocess. No label ever holds a key, a username, a path or a client address.\n\nThe operator decides who may read them with `LATCHKEY_METRICS`: `off` (the default;\nthis path answers 404), `open` (no credential), or a token that the scraper sends as\n`Authorization: Bearer <token>`. It is not a user's credential: keys, logins and\npasswords are not accepted here.\n",
        "security": [
          {
            "MetricsToken": []
          },
          {}
        ],
        "responses": {
          "200": {
            "description": "The metrics.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "text/plain; version=0.0.4": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "# HELP latchkey_http_requests_total Requests answered, by operationId (\"none\" when no operation matched) and status.\n# TYPE latchkey_http_requests_total counter\nlatchkey_http_requests_total{operation=\"whoami\",status=\"200\"} 1042\n"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/meta": {
      "get": {
        "operationId": "getMeta",
        "tags": [
          "meta"
        ],
        "summary": "Service metadata",
        "description": "The version, the enabled authentication methods and the limits a client should know about.",
        "security": [],
        "responses": {
          "200": {
            "description": "Service metadata.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Meta"
                },
                "example": {
                  "name": "Latchkey",
                  "version": "0.1.0",
                  "auth_methods": [
                    "HeaderTokenAuth",
                    "BearerTokenAuth",
                    "JwtAuth",
                    "TokenAuth",
                    "QueryParamTokenAuth",
                    "BasicAuth",
                    "SessionAuth"
                  ],
                  "api_key_headers": [
                    "X-API-Key"
                  ],
                  "key_prefix": "lk_",
                  "superuser_only": false,
                  "login_required": true,
                  "limits": {
                    "max_page_size": 200,
                    "max_body_bytes": 65536,
                    "max_rotation_grace_seconds": 86400,
                    "min_supplied_key_length": 32
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "getOpenApiJson",
        "tags": [
          "meta"
        ],
        "summary": "The contract as JSON",
        "description": "This document, as JSON.",
        "security": [],
        "responses": {
          "200": {
            "description": "The OpenAPI document.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                },
                "example": {
                  "openapi": "3.1.0",
                  "info": {
                    "title": "Latchkey API",
                    "version": "0.1.0"
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/openapi.yaml": {
      "get": {
        "operationId": "getOpenApiYaml",
        "tags": [
          "meta"
        ],
        "summary": "The contract as YAML",
        "description": "This document, as YAML.",
        "security": [],
        "responses": {
          "200": {
            "description": "The OpenAPI document.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/yaml": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "openapi: 3.1.0\ninfo:\n  title: Latchkey API\n"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/docs": {
      "get": {
        "operationId": "getDocs",
        "tags": [
          "meta"
        ],
        "summary": "API reference (HTML)",
        "description": "The API reference built from this document by Redocly: one self-contained HTML page\nthat loads nothing from the network, so it works on a closed network. `/redoc`\nanswers the same page.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "The reference page.",
            "headers": {
              "Content-Security-Policy": {
                "$ref": "#/components/headers/Content-Security-Policy"
              },
              "X-Content-Type-Options": {
                "$ref": "#/components/headers/X-Content-Type-Options"
              },
              "Referrer-Policy": {
                "$ref": "#/components/headers/Referrer-Policy"
              },
              "X-Frame-Options": {
                "$ref": "#/components/headers/X-Frame-Options"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "text/html": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "<!DOCTYPE html>\n<html><head><title>Latchkey API reference</title></head><body>…</body></html>\n"
              }
            }
          },
          "304": {
            "$ref": "#/components/responses/NotModified"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/redoc": {
      "get": {
        "operationId": "getRedoc",
        "tags": [
          "meta"
        ],
        "summary": "API reference (HTML), Redoc path",
        "description": "The same page as `/docs`, at the path Redoc users expect.",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "The reference page.",
            "headers": {
              "Content-Security-Policy": {
                "$ref": "#/components/headers/Content-Security-Policy"
              },
              "X-Content-Type-Options": {
                "$ref": "#/components/headers/X-Content-Type-Options"
              },
              "Referrer-Policy": {
                "$ref": "#/components/headers/Referrer-Policy"
              },
              "X-Frame-Options": {
                "$ref": "#/components/headers/X-Frame-Options"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "text/html": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "<!DOCTYPE html>\n<html><head><title>Latchkey API reference</title></head><body>…</body></html>\n"
              }
            }
          },
          "304": {
            "$ref": "#/components/responses/NotModified"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/docs/errors/{code}": {
      "get": {
        "operationId": "getErrorPage",
        "tags": [
          "meta"
        ],
        "summary": "Explanation of a problem code",
        "description": "The page that a problem's `type` (`/docs/errors/<CODE>`) points at: what the code\nmeans, when the server answers it, what to do about it and an example body, rendered\nfrom `docs/errors/<CODE>.md` as HTML. A code the server does not know answers 404.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          },
          {
            "name": "code",
            "in": "path",
            "required": true,
            "description": "A problem code, as in the `code` field of a problem body.",
            "schema": {
              "type": "string",
              "maxLength": 64
            },
            "example": "KEY_READ_ONLY"
          }
        ],
        "responses": {
          "200": {
            "description": "The page, as HTML.",
            "headers": {
              "Content-Security-Policy": {
                "$ref": "#/components/headers/Content-Security-Policy"
              },
              "X-Content-Type-Options": {
                "$ref": "#/components/headers/X-Content-Type-Options"
              },
              "Referrer-Policy": {
                "$ref": "#/components/headers/Referrer-Policy"
              },
              "X-Frame-Options": {
                "$ref": "#/components/headers/X-Frame-Options"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "text/html": {
                "schema": {
                  "type": "string",
                  "maxLength": 16777216
                },
                "example": "<!DOCTYPE html>\n<html><head><title>KEY_READ_ONLY: Key is read-only</title></head>\n<body><main><h1>KEY_READ_ONLY: Key is read-only</h1>…</main></body></html>\n"
              }
            }
          },
          "304": {
            "$ref": "#/components/responses/NotModified"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "404": {
            "description": "No problem code has that name.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                },
                "example": {
                  "type": "/docs/errors/NOT_FOUND",
                  "title": "Not found",
                  "status": 404,
                  "code": "NOT_FOUND",
                  "detail": "No problem code is named NO_SUCH_CODE.",
                  "instance": "/docs/errors/NO_SUCH_CODE"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          }
        }
      }
    },
    "/api/v1/auth/login": {
      "post": {
        "operationId": "login",
        "tags": [
          "auth"
        ],
        "summary": "Log in",
        "description": "Exchanges a username and password for a login JWT (valid 7 days by default) and an\nHttpOnly, SameSite session cookie. Both belong to one session, which logout ends.\nThe response also sets a readable `latchkey_csrf` cookie whose value must be sent in\n`X-CSRF-Token` on unsafe requests authenticated by the session cookie.\n",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Credentials"
              },
              "example": {
                "username": "admin",
                "password": "correct horse battery staple"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Logged in.",
            "headers": {
              "Set-Cookie": {
                "description": "The session cookie (HttpOnly) and the CSRF cookie.",
                "schema": {
                  "type": "string",
                  "maxLength": 4096
                }
              },
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LoginResult"
                },
                "example": {
                  "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
                  "token_type": "Bearer",
                  "expires_at": "2026-11-29T10:30:00.000Z",
                  "csrf_token": "3q2-7wX8yVbq0m1Qf5pK2A",
                  "user": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "admin",
                    "is_superuser": true,
                    "is_active": true,
                    "can_create_tokens": true,
                    "can_verify_keys": false,
                    "created_at": "2026-11-01T09:00:00.000Z"
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/logout": {
      "post": {
        "operationId": "logout",
        "tags": [
          "auth"
        ],
        "summary": "Log out",
        "description": "Ends the login session that authenticated this request: its JWT and its cookie stop\nworking at once. Only a login JWT or the session cookie can be logged out.\n",
        "security": [
          {
            "BearerAuth": [
              "profile:write"
            ]
          },
          {
            "SessionCookie": [
              "profile:write"
            ]
          }
        ],
        "responses": {
          "204": {
            "description": "The session is ended and its cookies are cleared.",
            "headers": {
              "Set-Cookie": {
                "description": "Expires the session and CSRF cookies.",
                "schema": {
                  "type": "string",
                  "maxLength": 4096
                }
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/password": {
      "post": {
        "operationId": "changePassword",
        "tags": [
          "auth"
        ],
        "summary": "Change my password",
        "security": [
          {
            "ApiKeyHeader": [
              "profile:write"
            ]
          },
          {
            "BearerAuth": [
              "profile:write"
            ]
          },
          {
            "TokenAuth": [
              "profile:write"
            ]
          },
          {
            "QueryApiKey": [
              "profile:write"
            ]
          },
          {
            "BasicAuth": [
              "profile:write"
            ]
          },
          {
            "SessionCookie": [
              "profile:write"
            ]
          }
        ],
        "description": "Sets a new password for the caller, under the same rules as everywhere (length, the\ncommon-password list, not the username). The current password must be given. Every\nother login of the user ends at once (their JWTs and session cookies); a session that\nmade this request stays. Cached Basic credentials of the user are forgotten on every\ninstance. A wrong current password counts as a failed authentication of the address.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PasswordChange"
              },
              "example": {
                "current_password": "correct horse battery staple",
                "new_password": "a much longer passphrase 2027"
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "The password is changed and the user's other logins are ended.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/whoami": {
      "get": {
        "operationId": "whoami",
        "tags": [
          "auth"
        ],
        "summary": "Who am I",
        "security": [
          {
            "ApiKeyHeader": [
              "profile:read"
            ]
          },
          {
            "BearerAuth": [
              "profile:read"
            ]
          },
          {
            "TokenAuth": [
              "profile:read"
            ]
          },
          {
            "QueryApiKey": [
              "profile:read"
            ]
          },
          {
            "BasicAuth": [
              "profile:read"
            ]
          },
          {
            "SessionCookie": [
              "profile:read"
            ]
          }
        ],
        "description": "The authenticated user and how this request was authenticated.",
        "responses": {
          "200": {
            "description": "The caller.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Whoami"
                },
                "example": {
                  "user": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "admin",
                    "is_superuser": true,
                    "is_active": true,
                    "can_create_tokens": true,
                    "can_verify_keys": false,
                    "created_at": "2026-11-01T09:00:00.000Z"
                  },
                  "auth": {
                    "method": "HeaderTokenAuth",
                    "token_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                    "expires_at": null,
                    "write_enabled": true
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/forward": {
      "get": {
        "operationId": "forwardAuth",
        "tags": [
          "auth"
        ],
        "summary": "Forward authentication for a reverse proxy",
        "description": "For nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`: the proxy asks\nhere before it passes a request on to the API behind it, and acts on the status. The\ncredential of the original request is authenticated with all six methods, with the same\nchecks, lockout and rate limits as Latchkey's own operations; `?api_key=` is read from\nthe original URI. The original method (`X-Forwarded-Method` or `X-Original-Method`) is\nrequired: a read-only key is refused for an unsafe one.\n\nEach `permission` the proxy configuration names must be held by the key (a key with an\nempty permission list is always refused). With `LATCHKEY_LOGIN_REQUIRED=false`, a\nrequest without any credential and with a safe original method passes as `Anonymous`,\non its address's rate limit; a wrong credential is still 401.\n\nSuccess is 200 with an empty body and the identity and rate-limit headers, for the proxy\nto copy to the upstream request and to the response. A refusal is the usual problem,\nwhich the proxy can pass on. The client's address comes from `X-Forwarded-For` only\nwhen the proxy is listed in `LATCHKEY_TRUSTED_PROXIES`.\n",
        "security": [
          {
            "ApiKeyHeader": []
          },
          {
            "BearerAuth": []
          },
          {
            "TokenAuth": []
          },
          {
            "QueryApiKey": []
          },
          {
            "BasicAuth": []
          },
          {
            "SessionCookie": []
          }
        ],
        "parameters": [
          {
            "name": "permission",
            "in": "query",
            "required": false,
            "description": "A permission the key must hold; repeat the parameter for more (all are required).",
            "style": "form",
            "explode": true,
            "schema": {
              "$ref": "#/components/schemas/PermissionList"
            },
            "example": [
              "archive.snapshots:write"
            ]
          },
          {
            "name": "X-Forwarded-Method",
            "in": "header",
            "required": false,
            "description": "The original request's method (Traefik, Caddy). One of this and `X-Original-Method` is required.",
            "example": "GET",
            "schema": {
              "type": "string",
              "maxLength": 16,
              "pattern": "^[A-Za-z]+$"
            }
          },
          {
            "name": "X-Original-Method",
            "in": "header",
            "required": false,
            "description": "The original request's method (nginx, set with `proxy_set_header X-Original-Method $request_method`).",
            "example": "POST",
            "schema": {
              "type": "string",
              "maxLength": 16,
              "pattern": "^[A-Za-z]+$"
            }
          },
          {
            "name": "X-Forwarded-Uri",
            "in": "header",
            "required": false,
            "description": "The original request's path and query (Traefik, Caddy), where `?api_key=` is looked for.",
            "example": "/api/v1/core/snapshots?limit=10",
            "schema": {
              "type": "string",
              "maxLength": 8192,
              "pattern": "^/[\\x21-\\x7e]*$"
            }
          },
          {
            "name": "X-Original-URI",
            "in": "header",
            "required": false,
            "description": "The original request's path and query (nginx, `proxy_set_header X-Original-URI $request_uri`).",
            "example": "/api/dcim/sites/",
            "schema": {
              "type": "string",
              "maxLength": 8192,
              "pattern": "^/[\\x21-\\x7e]*$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The request may pass. Empty body.",
            "headers": {
              "X-Auth-Method": {
                "description": "How the original request was authenticated, or `Anonymous`.",
                "required": true,
                "schema": {
                  "oneOf": [
                    {
                      "$ref": "#/components/schemas/AuthMethod"
                    },
                    {
                      "type": "string",
                      "const": "Anonymous"
                    }
                  ]
                }
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires-Optional"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id-Optional"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id-Optional"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username-Optional"
              },
              "X-Auth-Permissions": {
                "description": "The permissions of the key, comma-separated; sent only for a key with\npermissions. Absent for a key without restrictions, a login, Basic and `Anonymous`.\n",
                "required": false,
                "schema": {
                  "type": "string",
                  "maxLength": 3300,
                  "pattern": "^[a-z0-9._:*,-]*$"
                }
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/get_api_token": {
      "post": {
        "operationId": "getApiToken",
        "tags": [
          "auth"
        ],
        "summary": "Get an API token with a password",
        "description": "ArchiveBox compatible. Returns the newest valid token that this endpoint issued to the\nuser (the same string again), or issues a new one valid 30 days. The token is a\nnormal API key: it shows up in the key list with `created_via: get_api_token`.\n",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Credentials"
              },
              "example": {
                "username": "admin",
                "password": "correct horse battery staple"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "A valid API token.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ApiToken"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "token": "lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k",
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "expires": "2026-12-22T10:30:00.000Z",
                  "created_by_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/check_api_token": {
      "post": {
        "operationId": "checkApiToken",
        "tags": [
          "auth"
        ],
        "summary": "Check an API token",
        "description": "ArchiveBox compatible. Always answers 200: `success` is true when the token would\nauthenticate a request right now, and `user_id` names its owner.\n",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TokenCheckRequest"
              },
              "example": {
                "token": "lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Whether the token is valid.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenCheckResult"
                },
                "examples": {
                  "valid": {
                    "summary": "A valid token",
                    "value": {
                      "success": true,
                      "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
                    }
                  },
                  "invalid": {
                    "summary": "An unknown, expired or deactivated token",
                    "value": {
                      "success": false,
                      "user_id": null
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys": {
      "get": {
        "operationId": "listKeys",
        "tags": [
          "keys"
        ],
        "summary": "List your API keys",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:read"
            ]
          },
          {
            "BearerAuth": [
              "keys:read"
            ]
          },
          {
            "TokenAuth": [
              "keys:read"
            ]
          },
          {
            "QueryApiKey": [
              "keys:read"
            ]
          },
          {
            "BasicAuth": [
              "keys:read"
            ]
          },
          {
            "SessionCookie": [
              "keys:read"
            ]
          }
        ],
        "description": "The caller's own keys, newest first. The secret part of a key is never shown again after creation.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          },
          {
            "name": "is_active",
            "in": "query",
            "description": "Only active (true) or only deactivated (false) keys.",
            "schema": {
              "type": "boolean"
            },
            "example": true
          }
        ],
        "responses": {
          "200": {
            "description": "A page of keys.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/KeyPage"
                },
                "example": {
                  "count": 3,
                  "next": "/api/v1/keys?limit=1&offset=1",
                  "previous": null,
                  "results": [
                    {
                      "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "name": "ci-deploy",
                      "start": "lk_4GqN",
                      "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                      "write_enabled": true,
                      "is_active": true,
                      "expires_at": null,
                      "allowed_ips": [],
                      "rate_limit": null,
                      "created_at": "2026-11-22T10:30:00.000Z",
                      "updated_at": "2026-11-22T10:30:00.000Z",
                      "last_used_at": "2026-11-22T11:02:13.000Z",
                      "last_used_ip": "203.0.113.7",
                      "created_via": "api",
                      "rotated_from_id": null,
                      "permissions": null
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "post": {
        "operationId": "createKey",
        "tags": [
          "keys"
        ],
        "summary": "Create an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Creates a key owned by the caller and returns it once, with `Cache-Control: no-store`.\nLeave `key` out to have a random one generated (`lk_` + 32 base62 + a 6 character\nchecksum); give one of at least 32 characters to restore a deleted key. A user\nwhose `can_create_tokens` flag is off gets 403.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyCreate"
              },
              "example": {
                "name": "ci-deploy",
                "write_enabled": false,
                "expires_at": "2027-01-01T00:00:00.000Z",
                "allowed_ips": [
                  "203.0.113.0/24"
                ]
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The key, shown this once.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "Location": {
                "description": "The URL of the new key.",
                "schema": {
                  "type": "string",
                  "maxLength": 64,
                  "format": "uri-reference"
                }
              },
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedKey"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": false,
                  "is_active": true,
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "allowed_ips": [
                    "203.0.113.0/24"
                  ],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": null,
                  "last_used_ip": null,
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null,
                  "key": "lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys/verify": {
      "post": {
        "operationId": "verifyKey",
        "tags": [
          "keys"
        ],
        "summary": "Verify a key for another service",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:verify"
            ]
          },
          {
            "BearerAuth": [
              "keys:verify"
            ]
          },
          {
            "TokenAuth": [
              "keys:verify"
            ]
          },
          {
            "QueryApiKey": [
              "keys:verify"
            ]
          },
          {
            "BasicAuth": [
              "keys:verify"
            ]
          },
          {
            "SessionCookie": [
              "keys:verify"
            ]
          }
        ],
        "description": "For services that Latchkey protects: is this key valid for this request, and how much\nof its rate limit is left? A well-formed request always answers 200 with a `code`;\nfields that mean nothing for a code are null. The check is the one Latchkey's own\nrequests pass: format and checksum, the key's state and its owner's, the allowed\naddresses (`client_ip`), read-only keys (`method`), the permissions asked for, and\nthe key's rate limit, which `cost` spends (never the caller's). A deactivated,\ndeleted or rotated key is refused within a second on every instance. Nothing is\nwritten to the database on the way; the key's last use is recorded in a batch.\n\nCallers: superusers and users an administrator marks as verifiers\n(`can_verify_keys`); a restricted key also needs `keys:verify`. The caller's own\nrate limit is not spent, and refused keys never count towards the caller's lockout.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/VerifyRequest"
              },
              "example": {
                "key": "lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k",
                "permissions": [
                  "archive.snapshots:write"
                ],
                "method": "POST",
                "client_ip": "203.0.113.7"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The verdict.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/VerifyResult"
                },
                "examples": {
                  "valid": {
                    "summary": "A valid key",
                    "value": {
                      "valid": true,
                      "code": "VALID",
                      "key_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "owner": {
                        "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                        "username": "archivist"
                      },
                      "permissions": [
                        "archive.*:write",
                        "archive.*:read"
                      ],
                      "write_enabled": true,
                      "expires_at": null,
                      "ratelimit": {
                        "limit": 100,
                        "remaining": 99,
                        "reset": 1796294460
                      }
                    }
                  },
                  "missing": {
                    "summary": "A key that lacks a permission",
                    "value": {
                      "valid": false,
                      "code": "INSUFFICIENT_PERMISSIONS",
                      "key_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "owner": {
                        "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                        "username": "archivist"
                      },
                      "permissions": [
                        "archive.*:read"
                      ],
                      "write_enabled": true,
                      "expires_at": null,
                      "ratelimit": null
                    }
                  },
                  "unknown": {
                    "summary": "An unknown key",
                    "value": {
                      "valid": false,
                      "code": "NOT_FOUND",
                      "key_id": null,
                      "owner": null,
                      "permissions": null,
                      "write_enabled": null,
                      "expires_at": null,
                      "ratelimit": null
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys/{key_id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "get": {
        "operationId": "getKey",
        "tags": [
          "keys"
        ],
        "summary": "Read one API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:read"
            ]
          },
          {
            "BearerAuth": [
              "keys:read"
            ]
          },
          {
            "TokenAuth": [
              "keys:read"
            ]
          },
          {
            "QueryApiKey": [
              "keys:read"
            ]
          },
          {
            "BasicAuth": [
              "keys:read"
            ]
          },
          {
            "SessionCookie": [
              "keys:read"
            ]
          }
        ],
        "description": "One of the caller's keys, without its secret. Another user's key answers 404.",
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "patch": {
        "operationId": "updateKey",
        "tags": [
          "keys"
        ],
        "summary": "Rename or narrow an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Changes the name, and can only narrow the security fields: `write_enabled` can go from\ntrue to false, `expires_at` can be set or moved earlier, `allowed_ips` can be set on an\nunrestricted key or have entries removed. Anything that would widen the key is refused\nwith 400 `CANNOT_WIDEN`: rotate or create a new key instead.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyUpdate"
              },
              "example": {
                "name": "ci-deploy (read only)",
                "write_enabled": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "delete": {
        "operationId": "deleteKey",
        "tags": [
          "keys"
        ],
        "summary": "Delete an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Deletes the key for good; it stops authenticating at once. Its string can later be restored by creating a key with it.",
        "responses": {
          "204": {
            "description": "Deleted.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys/{key_id}/activate": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "post": {
        "operationId": "activateKey",
        "tags": [
          "keys"
        ],
        "summary": "Activate an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Makes a deactivated key authenticate again. Activating an active key changes nothing.",
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys/{key_id}/deactivate": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "post": {
        "operationId": "deactivateKey",
        "tags": [
          "keys"
        ],
        "summary": "Deactivate an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Stops the key from authenticating at once, without deleting it. Deactivating an inactive key changes nothing.",
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/keys/{key_id}/rotate": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "post": {
        "operationId": "rotateKey",
        "tags": [
          "keys"
        ],
        "summary": "Rotate an API key",
        "security": [
          {
            "ApiKeyHeader": [
              "keys:write"
            ]
          },
          {
            "BearerAuth": [
              "keys:write"
            ]
          },
          {
            "TokenAuth": [
              "keys:write"
            ]
          },
          {
            "QueryApiKey": [
              "keys:write"
            ]
          },
          {
            "BasicAuth": [
              "keys:write"
            ]
          },
          {
            "SessionCookie": [
              "keys:write"
            ]
          }
        ],
        "description": "Issues a new key with the same name and security fields and returns it once. The old\nkey stays valid for `grace_seconds` (0 to 86400; 0 ends it at once) and then expires.\nOnly an active, unexpired key that was not rotated before can be rotated: a key gets\none successor, so a second rotation (even during the grace period) is 409, and of\nconcurrent rotations exactly one wins.\n",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyRotate"
              },
              "example": {
                "grace_seconds": 3600
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new key, shown this once; `rotated_from_id` names the old one.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "Location": {
                "description": "The URL of the new key.",
                "schema": {
                  "type": "string",
                  "maxLength": 64,
                  "format": "uri-reference"
                }
              },
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedKey"
                },
                "example": {
                  "id": "9a4e1c2b-77d0-4f3e-8b16-0c5d2e9f7a38",
                  "name": "ci-deploy",
                  "start": "lk_Z8pq",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T12:00:00.000Z",
                  "updated_at": "2026-11-22T12:00:00.000Z",
                  "last_used_at": null,
                  "last_used_ip": null,
                  "created_via": "rotation",
                  "rotated_from_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "permissions": null,
                  "key": "lk_Z8pqR2mK7wV1cN5xT0bJ4hG9sD3fL6aE1Y2u0P"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/bootstrap-status": {
      "get": {
        "operationId": "getBootstrapStatus",
        "tags": [
          "auth"
        ],
        "summary": "Bootstrap status",
        "description": "True only while there are no users and no keys: then the first key can be registered without authentication.",
        "security": [],
        "responses": {
          "200": {
            "description": "Whether the server still needs its first key.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/BootstrapStatus"
                },
                "example": {
                  "needs_bootstrap": true,
                  "has_db_keys": false
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/auth/register-key": {
      "post": {
        "operationId": "registerKey",
        "tags": [
          "auth"
        ],
        "summary": "Register the first key",
        "description": "proxbox-api compatible bootstrap. While no user and no key exist, registers the given\nkey (at least 32 characters) without authentication and creates the superuser\n`admin`, without a password, who owns it. Afterwards it answers 409. Of simultaneous\ncalls, exactly one succeeds.\n",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RegisterKey"
              },
              "example": {
                "api_key": "5f0c2a7e9b1d4c3a8e6f7b2d1c0a9e8f5f0c2a7e9b1d4c3a8e6f7b2d1c0a9e8f",
                "label": "bootstrap-key"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Registered; use the key in `X-API-Key` from now on.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RegisteredKey"
                },
                "example": {
                  "detail": "API key registered.",
                  "key_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/keys": {
      "get": {
        "operationId": "adminListKeys",
        "tags": [
          "admin"
        ],
        "summary": "List every user's keys",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "All keys across users, newest first, with filters. Superusers only.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          },
          {
            "name": "user_id",
            "in": "query",
            "description": "Only this user's keys.",
            "schema": {
              "type": "string",
              "format": "uuid",
              "maxLength": 36
            },
            "example": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
          },
          {
            "name": "is_active",
            "in": "query",
            "description": "Only active (true) or only deactivated (false) keys.",
            "schema": {
              "type": "boolean"
            },
            "example": true
          },
          {
            "name": "expired",
            "in": "query",
            "description": "Only expired (true) or only unexpired (false) keys.",
            "schema": {
              "type": "boolean"
            },
            "example": false
          }
        ],
        "responses": {
          "200": {
            "description": "A page of keys.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/KeyPage"
                },
                "example": {
                  "count": 1,
                  "next": null,
                  "previous": null,
                  "results": [
                    {
                      "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "name": "ci-deploy",
                      "start": "lk_4GqN",
                      "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                      "write_enabled": true,
                      "is_active": true,
                      "expires_at": null,
                      "allowed_ips": [],
                      "rate_limit": null,
                      "created_at": "2026-11-22T10:30:00.000Z",
                      "updated_at": "2026-11-22T10:30:00.000Z",
                      "last_used_at": null,
                      "last_used_ip": null,
                      "created_via": "api",
                      "rotated_from_id": null,
                      "permissions": null
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/keys/{key_id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "delete": {
        "operationId": "adminDeleteKey",
        "tags": [
          "admin"
        ],
        "summary": "Delete any key",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Deletes a key of any user; it stops working at once. Superusers only.",
        "responses": {
          "204": {
            "description": "Deleted.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/keys/{key_id}/activate": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "post": {
        "operationId": "adminActivateKey",
        "tags": [
          "admin"
        ],
        "summary": "Activate any key",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Makes a deactivated key of any user work again. Superusers only.",
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/keys/{key_id}/deactivate": {
      "parameters": [
        {
          "$ref": "#/components/parameters/KeyId"
        }
      ],
      "post": {
        "operationId": "adminDeactivateKey",
        "tags": [
          "admin"
        ],
        "summary": "Deactivate any key",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Stops a key of any user at once, without deleting it. Superusers only.",
        "responses": {
          "200": {
            "description": "The key, without its secret.",
            "headers": {
              "X-Auth-Method": {
                "$ref": "#/components/headers/X-Auth-Method"
              },
              "X-Auth-Expires": {
                "$ref": "#/components/headers/X-Auth-Expires"
              },
              "X-Auth-Token-Id": {
                "$ref": "#/components/headers/X-Auth-Token-Id"
              },
              "X-Auth-User-Id": {
                "$ref": "#/components/headers/X-Auth-User-Id"
              },
              "X-Auth-User-Username": {
                "$ref": "#/components/headers/X-Auth-User-Username"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Key"
                },
                "example": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "user_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "write_enabled": true,
                  "is_active": true,
                  "expires_at": null,
                  "allowed_ips": [],
                  "rate_limit": null,
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "last_used_at": "2026-11-22T11:02:13.000Z",
                  "last_used_ip": "203.0.113.7",
                  "created_via": "api",
                  "rotated_from_id": null,
                  "permissions": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/users": {
      "get": {
        "operationId": "adminListUsers",
        "tags": [
          "admin"
        ],
        "summary": "List users",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "Every user, oldest first. Superusers only.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          },
          {
            "name": "is_active",
            "in": "query",
            "description": "Only active (true) or only deactivated (false) users.",
            "schema": {
              "type": "boolean"
            },
            "example": true
          },
          {
            "name": "is_superuser",
            "in": "query",
            "description": "Only superusers (true) or only other users (false).",
            "schema": {
              "type": "boolean"
            },
            "example": false
          }
        ],
        "responses": {
          "200": {
            "description": "A page of users.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UserPage"
                },
                "example": {
                  "count": 1,
                  "next": null,
                  "previous": null,
                  "results": [
                    {
                      "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                      "username": "admin",
                      "is_superuser": true,
                      "is_active": true,
                      "can_create_tokens": true,
                      "can_verify_keys": false,
                      "created_at": "2026-11-01T09:00:00.000Z"
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "post": {
        "operationId": "adminCreateUser",
        "tags": [
          "admin"
        ],
        "summary": "Create a user",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Creates a user with a password that passes the password rules. Superusers only.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserCreate"
              },
              "example": {
                "username": "deploy-bot",
                "password": "correct horse battery staple",
                "can_create_tokens": true,
                "can_verify_keys": false
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new user.",
            "headers": {
              "Location": {
                "description": "The URL of the new user.",
                "schema": {
                  "type": "string",
                  "maxLength": 64,
                  "format": "uri-reference"
                }
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                },
                "example": {
                  "id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                  "username": "deploy-bot",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false,
                  "created_at": "2026-11-22T10:30:00.000Z"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/users/{user_id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/UserId"
        }
      ],
      "get": {
        "operationId": "adminGetUser",
        "tags": [
          "admin"
        ],
        "summary": "Read a user",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "One user. Superusers only.",
        "responses": {
          "200": {
            "description": "The user.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                },
                "example": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "deploy-bot",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false,
                  "created_at": "2026-11-22T10:30:00.000Z"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "patch": {
        "operationId": "adminUpdateUser",
        "tags": [
          "admin"
        ],
        "summary": "Change a user's flags",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Sets is_superuser, is_active and can_create_tokens. Deactivating a user ends their\nsessions and stops their keys at once. The last active superuser cannot be demoted or\ndeactivated (409 `LAST_SUPERUSER`). Superusers only.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserUpdate"
              },
              "example": {
                "is_active": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The user.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                },
                "example": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "deploy-bot",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false,
                  "created_at": "2026-11-22T10:30:00.000Z"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "delete": {
        "operationId": "adminDeleteUser",
        "tags": [
          "admin"
        ],
        "summary": "Delete a user",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Deletes a user with their keys and sessions. The last active superuser cannot be deleted (409). Superusers only.",
        "responses": {
          "204": {
            "description": "Deleted.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/users/{user_id}/password": {
      "parameters": [
        {
          "$ref": "#/components/parameters/UserId"
        }
      ],
      "post": {
        "operationId": "adminResetPassword",
        "tags": [
          "admin"
        ],
        "summary": "Reset a user's password",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Sets a new password that passes the password rules and ends the user's login sessions. Superusers only.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PasswordReset"
              },
              "example": {
                "password": "a brand new passphrase"
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "Password changed; the user's sessions are ended.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/lockouts": {
      "get": {
        "operationId": "adminListLockouts",
        "tags": [
          "admin"
        ],
        "summary": "List lockouts",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "Client addresses currently locked out after too many failed authentications. Superusers only.",
        "responses": {
          "200": {
            "description": "The current lockouts.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LockoutList"
                },
                "example": {
                  "results": [
                    {
                      "address": "203.0.113.7",
                      "locked_until": "2026-11-22T10:35:00.000Z"
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/lockouts/{address}": {
      "parameters": [
        {
          "name": "address",
          "in": "path",
          "required": true,
          "description": "The locked-out client address.",
          "schema": {
            "type": "string",
            "maxLength": 64
          },
          "example": "203.0.113.7"
        }
      ],
      "delete": {
        "operationId": "adminClearLockout",
        "tags": [
          "admin"
        ],
        "summary": "Clear a lockout",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Lets a locked-out address authenticate again at once and forgets its failures. Superusers only.",
        "responses": {
          "204": {
            "description": "Cleared.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/admin/audit-events": {
      "get": {
        "operationId": "adminListAuditEvents",
        "tags": [
          "admin"
        ],
        "summary": "Read the audit log",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "Logins, failed authentications, lockouts, key and user changes, newest first. Never\nholds a secret. Superusers only.\n",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          },
          {
            "name": "action",
            "in": "query",
            "description": "Only this action.",
            "schema": {
              "$ref": "#/components/schemas/AuditAction"
            },
            "example": "key.created"
          },
          {
            "name": "outcome",
            "in": "query",
            "description": "Only this outcome.",
            "schema": {
              "$ref": "#/components/schemas/AuditOutcome"
            },
            "example": "failure"
          },
          {
            "name": "actor_id",
            "in": "query",
            "description": "Only events by this user.",
            "schema": {
              "type": "string",
              "format": "uuid",
              "maxLength": 36
            },
            "example": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
          },
          {
            "name": "target_id",
            "in": "query",
            "description": "Only events about this key or user.",
            "schema": {
              "type": "string",
              "maxLength": 64
            },
            "example": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61"
          },
          {
            "name": "client_ip",
            "in": "query",
            "description": "Only events from this client address.",
            "schema": {
              "type": "string",
              "maxLength": 64
            },
            "example": "203.0.113.7"
          },
          {
            "name": "since",
            "in": "query",
            "description": "Only events at or after this time.",
            "schema": {
              "type": "string",
              "format": "date-time",
              "maxLength": 64
            },
            "example": "2026-11-22T00:00:00.000Z"
          },
          {
            "name": "until",
            "in": "query",
            "description": "Only events before this time.",
            "schema": {
              "type": "string",
              "format": "date-time",
              "maxLength": 64
            },
            "example": "2026-11-23T00:00:00.000Z"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of audit events.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AuditPage"
                },
                "example": {
                  "count": 1,
                  "next": null,
                  "previous": null,
                  "results": [
                    {
                      "id": "2f6e1d0c-9b8a-4765-8432-10fedcba9876",
                      "at": "2026-11-22T10:30:00.000Z",
                      "action": "key.created",
                      "outcome": "success",
                      "actor_id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                      "actor_username": "admin",
                      "client_ip": "203.0.113.7",
                      "target_type": "key",
                      "target_id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "detail": "ci-deploy"
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks": {
      "get": {
        "operationId": "listWebhooks",
        "tags": [
          "webhooks"
        ],
        "summary": "List webhooks",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "Every outbound webhook, oldest first, without its signing secret. Superusers only.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of webhooks.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookPage"
                },
                "example": {
                  "count": 1,
                  "next": null,
                  "previous": null,
                  "results": [
                    {
                      "id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                      "name": "billing-sync",
                      "description": "Keeps the billing service's copy of keys in step.",
                      "url": "https://example.com/hooks/latchkey",
                      "events": [
                        "key.created",
                        "key.deleted",
                        "key.expiring"
                      ],
                      "is_active": true,
                      "created_by": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                      "created_at": "2026-11-22T10:30:00.000Z",
                      "updated_at": "2026-11-22T10:30:00.000Z",
                      "disabled_reason": null,
                      "previous_secret_expires_at": null
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "post": {
        "operationId": "createWebhook",
        "tags": [
          "webhooks"
        ],
        "summary": "Create a webhook",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Creates an outbound webhook and returns its signing secret (`whsec_` and base64 of 32\nrandom bytes) this once, with `Cache-Control: no-store`. Receivers verify each request\nwith it, as the Standard Webhooks specification says. The URL must use https (http\nonly when the operator allows it), carry no username or password, and reach a public\naddress: loopback, private, link-local, carrier-grade NAT, multicast, unspecified and\ncloud metadata addresses are refused (also inside IPv4-mapped IPv6 addresses, and for\nhost names that resolve to one) unless the operator lists them in\n`LATCHKEY_WEBHOOK_ALLOWED_HOSTS`. Leave `events` out, or null, for every event.\nSuperusers only.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/WebhookCreate"
              },
              "example": {
                "name": "billing-sync",
                "url": "https://example.com/hooks/latchkey",
                "events": [
                  "key.created",
                  "key.deleted",
                  "key.expiring"
                ],
                "description": "Keeps the billing service's copy of keys in step."
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The webhook and its signing secret, shown this once.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "Location": {
                "description": "The URL of the new webhook.",
                "schema": {
                  "type": "string",
                  "maxLength": 64,
                  "format": "uri-reference"
                }
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookWithSecret"
                },
                "example": {
                  "id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "name": "billing-sync",
                  "description": "Keeps the billing service's copy of keys in step.",
                  "url": "https://example.com/hooks/latchkey",
                  "events": [
                    "key.created",
                    "key.deleted",
                    "key.expiring"
                  ],
                  "is_active": true,
                  "created_by": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "disabled_reason": null,
                  "previous_secret_expires_at": null,
                  "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/ZfJ9bUXe1E="
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks/{webhook_id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/WebhookId"
        }
      ],
      "get": {
        "operationId": "getWebhook",
        "tags": [
          "webhooks"
        ],
        "summary": "Read a webhook",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "One webhook, without its signing secret. Superusers only.",
        "responses": {
          "200": {
            "description": "The webhook.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Webhook"
                },
                "example": {
                  "id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "name": "billing-sync",
                  "description": "Keeps the billing service's copy of keys in step.",
                  "url": "https://example.com/hooks/latchkey",
                  "events": [
                    "key.created",
                    "key.deleted",
                    "key.expiring"
                  ],
                  "is_active": true,
                  "created_by": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "disabled_reason": null,
                  "previous_secret_expires_at": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "patch": {
        "operationId": "updateWebhook",
        "tags": [
          "webhooks"
        ],
        "summary": "Change a webhook",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Changes a webhook's name, description, URL (checked as at creation), events, or\nwhether it is active. Switching it off fails its pending deliveries; switching it on\nagain (after Latchkey switched it off on a 410) clears `disabled_reason`. Superusers only.\n",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/WebhookUpdate"
              },
              "example": {
                "events": null,
                "is_active": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The webhook as it is now.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Webhook"
                },
                "example": {
                  "id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "name": "billing-sync",
                  "description": "Keeps the billing service's copy of keys in step.",
                  "url": "https://example.com/hooks/latchkey",
                  "events": [
                    "key.created",
                    "key.deleted",
                    "key.expiring"
                  ],
                  "is_active": true,
                  "created_by": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "disabled_reason": null,
                  "previous_secret_expires_at": null
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      },
      "delete": {
        "operationId": "deleteWebhook",
        "tags": [
          "webhooks"
        ],
        "summary": "Delete a webhook",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Deletes a webhook with its delivery log; nothing more is sent to it. Superusers only.",
        "responses": {
          "204": {
            "description": "Deleted.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks/{webhook_id}/rotate-secret": {
      "parameters": [
        {
          "$ref": "#/components/parameters/WebhookId"
        }
      ],
      "post": {
        "operationId": "rotateWebhookSecret",
        "tags": [
          "webhooks"
        ],
        "summary": "Rotate a webhook's signing secret",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Gives the webhook a new signing secret, returned this once with `Cache-Control:\nno-store`. For `grace_seconds` (a day when left out, at most 7 days) the old secret\nsigns too: each request then carries two `v1,` signatures, so that receivers can\nswitch to the new secret without missing an event. Superusers only.\n",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/WebhookSecretRotate"
              },
              "example": {
                "grace_seconds": 3600
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The webhook and its new signing secret, shown this once.",
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/CacheControlNoStore"
              },
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookWithSecret"
                },
                "example": {
                  "id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "name": "billing-sync",
                  "description": "Keeps the billing service's copy of keys in step.",
                  "url": "https://example.com/hooks/latchkey",
                  "events": [
                    "key.created",
                    "key.deleted",
                    "key.expiring"
                  ],
                  "is_active": true,
                  "created_by": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "created_at": "2026-11-22T10:30:00.000Z",
                  "updated_at": "2026-11-22T10:30:00.000Z",
                  "disabled_reason": null,
                  "previous_secret_expires_at": "2026-11-22T11:30:00.000Z",
                  "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/ZfJ9bUXe1E="
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks/{webhook_id}/test": {
      "parameters": [
        {
          "$ref": "#/components/parameters/WebhookId"
        }
      ],
      "post": {
        "operationId": "testWebhook",
        "tags": [
          "webhooks"
        ],
        "summary": "Send a test event",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Sends a signed `webhook.test` event to the webhook now, once and without retries\n(also when the webhook is inactive), and answers with its delivery: `delivered` with the\nreceiver's status, or `failed` with what went wrong. The delivery stays in the log.\nSuperusers only.\n",
        "responses": {
          "200": {
            "description": "The test delivery with its one attempt.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookDelivery"
                },
                "example": {
                  "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                  "webhook_id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "event_id": "msg_7d1e2f3a4b5c4d6e8f9a0b1c2d3e4f5a",
                  "event_type": "webhook.test",
                  "status": "delivered",
                  "attempt_count": 1,
                  "next_attempt_at": null,
                  "created_at": "2026-11-22T10:31:00.000Z",
                  "completed_at": "2026-11-22T10:31:00.210Z",
                  "payload": {
                    "type": "webhook.test",
                    "timestamp": "2026-11-22T10:30:00.000Z",
                    "data": {
                      "webhook_id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                      "message": "A test event from Latchkey; nothing changed."
                    }
                  },
                  "attempts": [
                    {
                      "number": 1,
                      "at": "2026-11-22T10:31:00.100Z",
                      "duration_ms": 110,
                      "status_code": 204,
                      "outcome": "delivered",
                      "error": null,
                      "response_body": null
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks/{webhook_id}/deliveries": {
      "parameters": [
        {
          "$ref": "#/components/parameters/WebhookId"
        }
      ],
      "get": {
        "operationId": "listWebhookDeliveries",
        "tags": [
          "webhooks"
        ],
        "summary": "List a webhook's deliveries",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:read"
            ]
          },
          {
            "BearerAuth": [
              "admin:read"
            ]
          },
          {
            "TokenAuth": [
              "admin:read"
            ]
          },
          {
            "QueryApiKey": [
              "admin:read"
            ]
          },
          {
            "BasicAuth": [
              "admin:read"
            ]
          },
          {
            "SessionCookie": [
              "admin:read"
            ]
          }
        ],
        "description": "The delivery log of a webhook, newest first: each event sent (or to be sent) with its\nstatus, its attempts (when, how long, the receiver's status and the start of its\nanswer, or the error) and when the next attempt is due. Finished deliveries are kept\nfor `LATCHKEY_WEBHOOK_RETENTION_DAYS`. Superusers only.\n",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Offset"
          },
          {
            "name": "status",
            "in": "query",
            "description": "Only deliveries in this state.",
            "schema": {
              "$ref": "#/components/schemas/WebhookDeliveryStatus"
            },
            "example": "failed"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of deliveries.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookDeliveryPage"
                },
                "example": {
                  "count": 1,
                  "next": null,
                  "previous": null,
                  "results": [
                    {
                      "id": "6e5d4c3b-2a19-4807-b6a5-948372615041",
                      "webhook_id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                      "event_id": "msg_2f0c7a3e9b1d4c5e8a6f0b2d4e6a8c0e",
                      "event_type": "key.created",
                      "status": "pending",
                      "attempt_count": 1,
                      "next_attempt_at": "2026-11-22T10:30:16.000Z",
                      "created_at": "2026-11-22T10:30:00.000Z",
                      "completed_at": null,
                      "payload": {
                        "type": "key.created",
                        "timestamp": "2026-11-22T10:30:00.000Z",
                        "data": {
                          "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                          "name": "ci-deploy",
                          "start": "lk_4GqN",
                          "owner": {
                            "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                            "username": "alice"
                          },
                          "expires_at": null,
                          "is_active": true,
                          "write_enabled": true,
                          "created_via": "api"
                        }
                      },
                      "attempts": [
                        {
                          "number": 1,
                          "at": "2026-11-22T10:30:00.120Z",
                          "duration_ms": 84,
                          "status_code": 500,
                          "outcome": "http_error",
                          "error": "The receiver answered 500; only a 2xx counts as delivered.",
                          "response_body": "{\"error\":\"database down\"}"
                        }
                      ]
                    }
                  ]
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    },
    "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
      "parameters": [
        {
          "$ref": "#/components/parameters/WebhookId"
        },
        {
          "name": "delivery_id",
          "in": "path",
          "required": true,
          "description": "The delivery's id.",
          "schema": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "example": "6e5d4c3b-2a19-4807-b6a5-948372615041"
        }
      ],
      "post": {
        "operationId": "redeliverWebhookDelivery",
        "tags": [
          "webhooks"
        ],
        "summary": "Send a delivery's event again",
        "security": [
          {
            "ApiKeyHeader": [
              "admin:write"
            ]
          },
          {
            "BearerAuth": [
              "admin:write"
            ]
          },
          {
            "TokenAuth": [
              "admin:write"
            ]
          },
          {
            "QueryApiKey": [
              "admin:write"
            ]
          },
          {
            "BasicAuth": [
              "admin:write"
            ]
          },
          {
            "SessionCookie": [
              "admin:write"
            ]
          }
        ],
        "description": "Queues the event of a delivery again, as a new delivery with its own attempts and the\nsame `webhook-id`, so that receivers that deduplicate by it see the same message. The\nwebhook must be active (409 otherwise). Superusers only.\n",
        "responses": {
          "202": {
            "description": "The new delivery, queued.",
            "headers": {
              "X-Request-Id": {
                "$ref": "#/components/headers/X-Request-Id"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              },
              "RateLimit": {
                "$ref": "#/components/headers/RateLimit"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WebhookDelivery"
                },
                "example": {
                  "id": "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091",
                  "webhook_id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "event_id": "msg_2f0c7a3e9b1d4c5e8a6f0b2d4e6a8c0e",
                  "event_type": "key.created",
                  "status": "pending",
                  "attempt_count": 0,
                  "next_attempt_at": "2026-11-22T12:00:00.000Z",
                  "created_at": "2026-11-22T12:00:00.000Z",
                  "completed_at": null,
                  "payload": {
                    "type": "key.created",
                    "timestamp": "2026-11-22T10:30:00.000Z",
                    "data": {
                      "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                      "name": "ci-deploy",
                      "start": "lk_4GqN",
                      "owner": {
                        "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                        "username": "alice"
                      },
                      "expires_at": null,
                      "is_active": true,
                      "write_enabled": true,
                      "created_via": "api"
                    }
                  },
                  "attempts": []
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        }
      }
    }
  },
  "webhooks": {
    "key.created": {
      "post": {
        "operationId": "keyCreatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.created",
        "description": "A key was created (by its owner, an administrator, the command line, get_api_token or bootstrap). Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyCreatedEvent"
              },
              "example": {
                "type": "key.created",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.updated": {
      "post": {
        "operationId": "keyUpdatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.updated",
        "description": "A key was renamed or narrowed; `changes` names the fields. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyUpdatedEvent"
              },
              "example": {
                "type": "key.updated",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api",
                  "changes": [
                    "name",
                    "expires_at"
                  ]
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.rotated": {
      "post": {
        "operationId": "keyRotatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.rotated",
        "description": "A key was rotated: `replaced_by` names the new key; this one keeps working until its `expires_at`, the end of the grace period. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyRotatedEvent"
              },
              "example": {
                "type": "key.rotated",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2026-11-22T11:30:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api",
                  "replaced_by": {
                    "id": "8e2a6c4f-1b3d-4e5f-9a7b-0c1d2e3f4a5b",
                    "start": "lk_9TfZ"
                  },
                  "grace_seconds": 3600
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.activated": {
      "post": {
        "operationId": "keyActivatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.activated",
        "description": "A deactivated key was activated again. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyActivatedEvent"
              },
              "example": {
                "type": "key.activated",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.deactivated": {
      "post": {
        "operationId": "keyDeactivatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.deactivated",
        "description": "A key was deactivated; it stopped working at once. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyDeactivatedEvent"
              },
              "example": {
                "type": "key.deactivated",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": false,
                  "write_enabled": true,
                  "created_via": "api"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.deleted": {
      "post": {
        "operationId": "keyDeletedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.deleted",
        "description": "A key was deleted; it stopped working at once. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyDeletedEvent"
              },
              "example": {
                "type": "key.deleted",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.expiring": {
      "post": {
        "operationId": "keyExpiringEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.expiring",
        "description": "An active key entered a warning window before its expiry: `threshold_days` before (7 by default, `LATCHKEY_WEBHOOK_EXPIRING_DAYS`, and 1). Sent once per key, window and expiry, across restarts and instances; a key inside both windows at once gets one event, for the nearer. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyExpiringEvent"
              },
              "example": {
                "type": "key.expiring",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2027-01-01T00:00:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api",
                  "threshold_days": 7
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "key.expired": {
      "post": {
        "operationId": "keyExpiredEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "key.expired",
        "description": "An active key reached its expiry. Sent once per key and expiry, within a minute (`LATCHKEY_WEBHOOK_EXPIRY_SCAN_MS`). Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KeyExpiredEvent"
              },
              "example": {
                "type": "key.expired",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61",
                  "name": "ci-deploy",
                  "start": "lk_4GqN",
                  "owner": {
                    "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                    "username": "alice"
                  },
                  "expires_at": "2026-11-22T10:30:00.000Z",
                  "is_active": true,
                  "write_enabled": true,
                  "created_via": "api"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "user.created": {
      "post": {
        "operationId": "userCreatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "user.created",
        "description": "A user was created (by an administrator, the command line, the environment or bootstrap). Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserCreatedEvent"
              },
              "example": {
                "type": "user.created",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "alice",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "user.updated": {
      "post": {
        "operationId": "userUpdatedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "user.updated",
        "description": "A user's flags changed; `changes` names them. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserUpdatedEvent"
              },
              "example": {
                "type": "user.updated",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "alice",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": true,
                  "changes": [
                    "can_verify_keys"
                  ]
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "user.deleted": {
      "post": {
        "operationId": "userDeletedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "user.deleted",
        "description": "A user was deleted, with their keys and sessions (no `key.deleted` is sent for those keys). Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserDeletedEvent"
              },
              "example": {
                "type": "user.deleted",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "alice",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "user.password_changed": {
      "post": {
        "operationId": "userPasswordChangedEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "user.password_changed",
        "description": "A user's password changed: by the user (`by_administrator: false`), or set by an administrator or the command line. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserPasswordChangedEvent"
              },
              "example": {
                "type": "user.password_changed",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "id": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10",
                  "username": "alice",
                  "is_superuser": false,
                  "is_active": true,
                  "can_create_tokens": true,
                  "can_verify_keys": false,
                  "by_administrator": false
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "auth.locked_out": {
      "post": {
        "operationId": "authLockedOutEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "auth.locked_out",
        "description": "A client address was locked out after too many failed authentications. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/AuthLockedOutEvent"
              },
              "example": {
                "type": "auth.locked_out",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "address": "203.0.113.7",
                  "locked_until": "2026-11-22T10:35:00.000Z",
                  "failures": 5
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    },
    "webhook.test": {
      "post": {
        "operationId": "webhookTestEvent",
        "tags": [
          "webhooks"
        ],
        "summary": "webhook.test",
        "description": "Sent by POST /api/v1/webhooks/{webhook_id}/test only; no webhook subscribes to it. Latchkey sends it as a signed POST to every active webhook that subscribes\nto it; see the webhooks guide for verifying the signature.\n",
        "security": [],
        "parameters": [
          {
            "$ref": "#/components/parameters/WebhookMessageId"
          },
          {
            "$ref": "#/components/parameters/WebhookTimestamp"
          },
          {
            "$ref": "#/components/parameters/WebhookSignature"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/WebhookTestEvent"
              },
              "example": {
                "type": "webhook.test",
                "timestamp": "2026-11-22T10:30:00.000Z",
                "data": {
                  "webhook_id": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d",
                  "message": "A test event from Latchkey; nothing changed."
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "$ref": "#/components/responses/WebhookReceived"
          },
          "410": {
            "$ref": "#/components/responses/WebhookGone"
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key in the `X-API-Key` header. The operator can accept more header names (for example `X-ArchiveBox-API-Key`)."
      },
      "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key or a login JWT in `Authorization: Bearer`."
      },
      "TokenAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "NetBox style: `Authorization: Token <key>`."
      },
      "QueryApiKey": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "An API key in the `api_key` query parameter. Discouraged (URLs end up in logs and histories); never logged by Latchkey."
      },
      "BasicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "Username and password on every request. Discouraged; prefer a key."
      },
      "MetricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The token set in `LATCHKEY_METRICS`, for GET /metrics only. Not a user's credential."
      },
      "SessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "latchkey_session",
        "description": "The cookie set by login. Unsafe methods also need the `X-CSRF-Token` header."
      }
    },
    "parameters": {
      "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": false,
        "description": "The ETag of the page the client has; the answer is 304 without a body while it is still current.",
        "schema": {
          "type": "string",
          "maxLength": 1024
        },
        "example": "W/\"2jmj7l5rSw0yVb_vlWAYkK_YBwk\""
      },
      "KeyId": {
        "name": "key_id",
        "in": "path",
        "required": true,
        "description": "The key's id.",
        "schema": {
          "type": "string",
          "format": "uuid",
          "maxLength": 36
        },
        "example": "5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61"
      },
      "Limit": {
        "name": "limit",
        "in": "query",
        "description": "How many results per page (1 to 200).",
        "schema": {
          "type": "integer",
          "minimum": 1,
          "maximum": 200,
          "default": 50,
          "format": "int32"
        },
        "example": 50
      },
      "Offset": {
        "name": "offset",
        "in": "query",
        "description": "How many results to skip (0 to 2147483647). An offset past the last result answers an empty page.",
        "schema": {
          "type": "integer",
          "minimum": 0,
          "maximum": 2147483647,
          "default": 0,
          "format": "int32"
        },
        "example": 0
      },
      "WebhookMessageId": {
        "name": "webhook-id",
        "in": "header",
        "required": true,
        "description": "The event's id (`msg_` and 32 hex digits), the same on every attempt and redelivery; deduplicate by it.",
        "schema": {
          "type": "string",
          "maxLength": 64,
          "pattern": "^msg_[0-9a-f]{32}$"
        },
        "example": "msg_2f0c7a3e9b1d4c5e8a6f0b2d4e6a8c0e"
      },
      "WebhookTimestamp": {
        "name": "webhook-timestamp",
        "in": "header",
        "required": true,
        "description": "When this attempt was sent, in seconds since the epoch; refuse one far from your clock (5 minutes is usual).",
        "schema": {
          "type": "string",
          "maxLength": 16,
          "pattern": "^\\d+$"
        },
        "example": "1795350600"
      },
      "WebhookSignature": {
        "name": "webhook-signature",
        "in": "header",
        "required": true,
        "description": "`v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under the\nwebhook's secret (the base64 after `whsec_`). During the grace period after a rotation\nthere are two, separated by a space, one per secret; accept the request when one matches.\n",
        "schema": {
          "type": "string",
          "maxLength": 256,
          "pattern": "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$"
        },
        "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
      },
      "WebhookId": {
        "name": "webhook_id",
        "in": "path",
        "required": true,
        "description": "The webhook's id.",
        "schema": {
          "type": "string",
          "format": "uuid",
          "maxLength": 36
        },
        "example": "9a4c1e7b-2d3f-4b5a-8c6d-7e8f9a0b1c2d"
      },
      "UserId": {
        "name": "user_id",
        "in": "path",
        "required": true,
        "description": "The user's id.",
        "schema": {
          "type": "string",
          "format": "uuid",
          "maxLength": 36
        },
        "example": "0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10"
      }
    },
    "headers": {
      "Content-Security-Policy": {
        "description": "On HTML pages: a strict policy that allows the page's own inline scripts and styles by\ntheir SHA-256 hashes and nothing from another origin, forbids framing\n(`frame-ancestors 'none'`), forms and a changed base URL.\n",
        "required": false,
        "schema": {
          "type": "string",
          "examples": [
            "default-src 'none'; script-src 'none'; style-src 'sha256-…'; frame-ancestors 'none'"
          ],
          "maxLength": 8192
        }
      },
      "X-Content-Type-Options": {
        "description": "On HTML pages: `nosniff`.",
        "required": false,
        "schema": {
          "type": "string",
          "const": "nosniff"
        }
      },
      "Referrer-Policy": {
        "description": "On HTML pages: `no-referrer`.",
        "required": false,
        "schema": {
          "type": "string",
          "const": "no-referrer"
        }
      },
      "X-Frame-Options": {
        "description": "On HTML pages: `DENY` (for browsers that do not read `frame-ancestors`).",
        "required": false,
        "schema": {
          "type": "string",
          "const": "DENY"
        }
      },
      "ETag": {
        "description": "On HTML pages, a validator of the page; send it back in `If-None-Match` to get 304 while it has not changed.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 128,
          "examples": [
            "W/\"2jmj7l5rSw0yVb_vlWAYkK_YBwk\""
          ],
          "pattern": "^W/\"[A-Za-z0-9_-]+\"$"
        }
      },
      "X-Request-Id": {
        "description": "The id of this request, also in its log lines and in a problem's `request_id`: the\nrequest's own `X-Request-Id` when it has one of at most 128 letters, digits and\n`. _ : @ + / = -`, otherwise a new UUID. The server sends it on every response.\n",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 128,
          "pattern": "^[A-Za-z0-9._:@+/=-]+$",
          "examples": [
            "6f1c2b8e-3c1a-4f7e-9d55-0b9c7f4e2a6f"
          ]
        }
      },
      "X-Auth-Method": {
        "description": "How the request was authenticated.",
        "required": true,
        "schema": {
          "$ref": "#/components/schemas/AuthMethod"
        }
      },
      "X-Auth-Expires": {
        "description": "When the credential expires (RFC 3339), or `never`.",
        "required": true,
        "schema": {
          "type": "string",
          "examples": [
            "2026-12-22T10:30:00.000Z",
            "never"
          ],
          "maxLength": 64,
          "pattern": "^(never|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z)$"
        }
      },
      "X-Auth-Token-Id": {
        "description": "The id of the key or login session used, or `none` for Basic.",
        "required": true,
        "schema": {
          "type": "string",
          "maxLength": 36,
          "pattern": "^(none|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
        }
      },
      "X-Auth-User-Id": {
        "description": "The authenticated user's id.",
        "required": true,
        "schema": {
          "type": "string",
          "format": "uuid",
          "maxLength": 36
        }
      },
      "X-Auth-User-Username": {
        "description": "The authenticated user's username.",
        "required": true,
        "schema": {
          "type": "string",
          "maxLength": 150,
          "pattern": "^[\\w.@+-]+$"
        }
      },
      "X-Auth-Expires-Optional": {
        "description": "When the credential expires (RFC 3339), or `never`; absent for `Anonymous`.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 64,
          "pattern": "^(never|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z)$"
        }
      },
      "X-Auth-Token-Id-Optional": {
        "description": "The id of the key or login session used, or `none` for Basic; absent for `Anonymous`.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 36,
          "pattern": "^(none|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
        }
      },
      "X-Auth-User-Id-Optional": {
        "description": "The authenticated user's id; absent for `Anonymous`.",
        "required": false,
        "schema": {
          "type": "string",
          "format": "uuid",
          "maxLength": 36
        }
      },
      "X-Auth-User-Username-Optional": {
        "description": "The authenticated user's username; absent for `Anonymous`.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 150,
          "pattern": "^[\\w.@+-]+$"
        }
      },
      "CacheControlNoStore": {
        "description": "`no-store`: the response holds a secret and must not be cached.",
        "required": true,
        "schema": {
          "type": "string",
          "const": "no-store"
        }
      },
      "WWW-Authenticate": {
        "description": "The accepted schemes, RFC 6750 style.",
        "required": true,
        "schema": {
          "type": "string",
          "maxLength": 512,
          "pattern": "^(ApiKey|Basic|Bearer|Token) realm=\""
        }
      },
      "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": true,
        "schema": {
          "type": "integer",
          "minimum": 1,
          "format": "int32",
          "maximum": 86400
        }
      },
      "X-RateLimit-Limit": {
        "description": "Requests allowed in the window.",
        "required": false,
        "schema": {
          "type": "integer",
          "format": "int32",
          "minimum": 1,
          "maximum": 1000000
        }
      },
      "X-RateLimit-Remaining": {
        "description": "Requests left in the window.",
        "required": false,
        "schema": {
          "type": "integer",
          "format": "int32",
          "minimum": 0,
          "maximum": 1000000
        }
      },
      "X-RateLimit-Reset": {
        "description": "When the window resets, in epoch seconds.",
        "required": false,
        "schema": {
          "type": "integer",
          "format": "int64",
          "minimum": 0,
          "maximum": 253402300799
        }
      },
      "RateLimit-Policy": {
        "description": "The policy in force (IETF draft), e.g. `\"default\";q=100;w=60`.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 128,
          "pattern": "^\"(default|key)\";q=\\d+;w=\\d+$"
        }
      },
      "RateLimit": {
        "description": "What is left (IETF draft), e.g. `\"default\";r=42;t=17`.",
        "required": false,
        "schema": {
          "type": "string",
          "maxLength": 128,
          "pattern": "^\"(default|key)\";r=\\d+;t=\\d+$"
        }
      }
    },
    "responses": {
      "WebhookReceived": {
        "description": "Any 2xx status counts as delivered; the body is ignored (its start is kept in the delivery log)."
      },
      "WebhookGone": {
        "description": "410 Gone switches the webhook off and fails its pending deliveries. Every other status, a redirect included (none is followed), or no answer within the timeout is tried again later, up to 8 attempts over about a day."
      },
      "NotModified": {
        "description": "Not modified; the page named by `If-None-Match` is current.",
        "headers": {
          "ETag": {
            "$ref": "#/components/headers/ETag"
          },
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        }
      },
      "BadRequest": {
        "description": "The request is malformed; `errors` names each field at fault. Nothing was changed.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/VALIDATION_FAILED",
              "title": "Validation failed",
              "status": 400,
              "code": "VALIDATION_FAILED",
              "detail": "body.name: must NOT have fewer than 1 characters",
              "errors": [
                {
                  "field": "body.name",
                  "message": "must NOT have fewer than 1 characters"
                }
              ]
            }
          }
        }
      },
      "Unauthorized": {
        "description": "No credential, or one that is unknown, wrong, expired or revoked. The answer is the same in every case.",
        "headers": {
          "WWW-Authenticate": {
            "$ref": "#/components/headers/WWW-Authenticate"
          },
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/AUTHENTICATION_FAILED",
              "title": "Authentication failed",
              "status": 401,
              "code": "AUTHENTICATION_FAILED",
              "detail": "The credential is missing, invalid, expired or revoked."
            }
          }
        }
      },
      "Forbidden": {
        "description": "The credential is valid but not allowed to do this; `detail` says what is missing.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/KEY_READ_ONLY",
              "title": "Key is read-only",
              "status": 403,
              "code": "KEY_READ_ONLY",
              "detail": "Valid API key, but it is read-only (write_enabled is false); only GET, HEAD and OPTIONS are allowed."
            }
          }
        }
      },
      "NotFound": {
        "description": "Nothing of yours has that id.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/KEY_NOT_FOUND",
              "title": "Key not found",
              "status": 404,
              "code": "KEY_NOT_FOUND",
              "detail": "No key with id 5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61."
            }
          }
        }
      },
      "Conflict": {
        "description": "The request conflicts with what exists.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/KEY_ALREADY_EXISTS",
              "title": "Key already exists",
              "status": 409,
              "code": "KEY_ALREADY_EXISTS",
              "detail": "A key with this value already exists."
            }
          }
        }
      },
      "PayloadTooLarge": {
        "description": "The body is larger than the server accepts (see `limits.max_body_bytes` in /meta).",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/PAYLOAD_TOO_LARGE",
              "title": "Request body too large",
              "status": 413,
              "code": "PAYLOAD_TOO_LARGE",
              "detail": "The request body is larger than the server accepts."
            }
          }
        }
      },
      "UnsupportedMediaType": {
        "description": "The body is not JSON.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/UNSUPPORTED_MEDIA_TYPE",
              "title": "Unsupported media type",
              "status": 415,
              "code": "UNSUPPORTED_MEDIA_TYPE",
              "detail": "Send the body as application/json, not text/plain."
            }
          }
        }
      },
      "TooManyRequests": {
        "description": "Rate limit exceeded (`RATE_LIMITED`), or the client address is locked out after too many failed authentications (`LOCKED_OUT`). Wait `Retry-After` seconds.",
        "headers": {
          "Retry-After": {
            "$ref": "#/components/headers/Retry-After"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          },
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "examples": {
              "rateLimited": {
                "summary": "Over the rate limit",
                "value": {
                  "type": "/docs/errors/RATE_LIMITED",
                  "title": "Too many requests",
                  "status": 429,
                  "code": "RATE_LIMITED",
                  "detail": "Rate limit exceeded; try again in 17 seconds.",
                  "retryAfter": 17
                }
              },
              "lockedOut": {
                "summary": "Locked out",
                "value": {
                  "type": "/docs/errors/LOCKED_OUT",
                  "title": "Too many failed authentication attempts",
                  "status": 429,
                  "code": "LOCKED_OUT",
                  "detail": "Too many failed authentication attempts from this address; try again in 300 seconds.",
                  "retryAfter": 300
                }
              }
            }
          }
        }
      },
      "InternalError": {
        "description": "The server failed to answer this request. The `request_id` of the problem finds it in the server's log.",
        "headers": {
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/INTERNAL_ERROR",
              "title": "Internal error",
              "status": 500,
              "code": "INTERNAL_ERROR",
              "detail": "The server failed to answer this request.",
              "instance": "/api/v1/keys",
              "request_id": "6f1c2b8e-3c1a-4f7e-9d55-0b9c7f4e2a6f"
            }
          }
        }
      },
      "ServiceUnavailable": {
        "description": "The database is busy (another process holds its write lock) and the request could not wait longer; nothing was changed. Send it again after `Retry-After` seconds.",
        "headers": {
          "Retry-After": {
            "$ref": "#/components/headers/Retry-After"
          },
          "X-Request-Id": {
            "$ref": "#/components/headers/X-Request-Id"
          },
          "X-RateLimit-Limit": {
            "$ref": "#/components/headers/X-RateLimit-Limit"
          },
          "X-RateLimit-Remaining": {
            "$ref": "#/components/headers/X-RateLimit-Remaining"
          },
          "X-RateLimit-Reset": {
            "$ref": "#/components/headers/X-RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          },
          "RateLimit": {
            "$ref": "#/components/headers/RateLimit"
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            },
            "example": {
              "type": "/docs/errors/DATABASE_BUSY",
              "title": "Database busy",
              "status": 503,
              "code": "DATABASE_BUSY",
              "detail": "The database is busy: another process holds its write lock. Nothing was changed; try again in 1 second.",
              "instance": "/api/v1/keys",
              "retryAfter": 1
            }
          }
        }
      }
    },
    "schemas": {
      "Problem": {
        "type": "object",
        "description": "An RFC 9457 problem document.",
        "required": [
          "type",
          "title",
          "status",
          "code"
        ],
        "properties": {
          "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "A link to the page that explains `code`, relative to the server.",
            "maxLength": 128
          },
          "title": {
            "type": "string",
            "description": "A short summary of the problem type.",
            "maxLength": 128
          },
          "status": {
            "type": "integer",
            "description": "The HTTP status code.",
            "format": "int32",
            "minimum": 100,
            "maximum": 599
          },
          "code": {
            "type": "string",
            "pattern": "^[A-Z][A-Z0-9_]*$",
            "description": "A stable, machine-readable error code.",
            "maxLength": 64
          },
          "detail": {
            "type": "string",
            "description": "What went wrong in this occurrence.",
            "maxLength": 2048
          },
          "instance": {
            "type": "string",
            "description": "The request path.",
            "maxLength": 2048,
            "format": "uri-reference"
          },
          "errors": {
            "type": "array",
            "description": "For validation problems, each field at fault.",
            "items": {
              "type": "object",
              "required": [
                "field",
                "message"
              ],
              "properties": {
                "field": {
                  "type": "string",
                  "description": "Where the problem is, for example `body.name` or `query.limit`.",
                  "maxLength": 256
                },
                "message": {
                  "type": "string",
                  "maxLength": 256
                }
              }
            },
            "maxItems": 50
          },
          "retryAfter": {
            "type": "integer",
            "description": "For 429: seconds to wait, as in Retry-After.",
            "format": "int32",
            "minimum": 1,
            "maximum": 86400
          },
          "request_id": {
            "type": "string",
            "maxLength": 128,
            "description": "The id of the request, as in its `X-Request-Id` response header and the server's log.",
            "pattern": "^[A-Za-z0-9._:@+/=-]+$"
          }
        }
      },
      "AuthMethod": {
        "type": "string",
        "enum": [
          "HeaderTokenAuth",
          "BearerTokenAuth",
          "JwtAuth",
          "TokenAuth",
          "QueryParamTokenAuth",
          "BasicAuth",
          "SessionAuth"
        ]
      },
      "Root": {
        "type": "object",
        "required": [
          "name",
          "version",
          "links"
        ],
        "properties": {
          "name": {
            "type": "string",
            "const": "Latchkey"
          },
          "version": {
            "type": "string",
            "maxLength": 64,
            "pattern": "^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$"
          },
          "links": {
            "type": "object",
            "additionalProperties": {
              "type": "string",
              "maxLength": 256,
              "format": "uri-reference"
            }
          }
        }
      },
      "Health": {
        "type": "object",
        "required": [
          "status",
          "database"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ok",
              "unavailable"
            ]
          },
          "database": {
            "type": "string",
            "enum": [
              "ok",
              "unreachable"
            ]
          }
        }
      },
      "Meta": {
        "type": "object",
        "required": [
          "name",
          "version",
          "auth_methods",
          "api_key_headers",
          "key_prefix",
          "superuser_only",
          "login_required",
          "limits"
        ],
        "properties": {
          "name": {
            "type": "string",
            "const": "Latchkey"
          },
          "version": {
            "type": "string",
            "maxLength": 64,
            "pattern": "^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$"
          },
          "auth_methods": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AuthMethod"
            },
            "maxItems": 7
          },
          "api_key_headers": {
            "type": "array",
            "items": {
              "type": "string",
              "maxLength": 128,
              "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
            },
            "maxItems": 16
          },
          "key_prefix": {
            "type": "string",
            "maxLength": 17,
            "pattern": "^[a-z][a-z0-9]{0,15}_$"
          },
          "superuser_only": {
            "type": "boolean"
          },
          "login_required": {
            "type": "boolean",
            "description": "`false` when forward authentication lets requests without a credential and with a safe method pass (`LATCHKEY_LOGIN_REQUIRED`); Latchkey's own API always needs a credential."
          },
          "limits": {
            "type": "object",
            "required": [
              "max_page_size",
              "max_body_bytes",
              "max_rotation_grace_seconds",
              "min_supplied_key_length"
            ],
            "properties": {
              "max_page_size": {
                "type": "integer",
                "format": "int32",
                "minimum": 1,
                "maximum": 1000
              },
              "max_body_bytes": {
                "type": "integer",
                "format": "int32",
                "minimum": 1024,
                "maximum": 10485760
              },
              "max_rotation_grace_seconds": {
                "type": "integer",
                "format": "int32",
                "minimum": 0,
                "maximum": 86400
              },
              "min_supplied_key_length": {
                "type": "integer",
                "format": "int32",
                "minimum": 1,
                "maximum": 256
              }
            }
          }
        }
      },
      "Credentials": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "username",
          "password"
        ],
        "properties": {
          "username": {
            "type": "string",
            "minLength": 1,
            "maxLength": 150
          },
          "password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024
          }
        }
      },
      "User": {
        "type": "object",
        "required": [
          "id",
          "username",
          "is_superuser",
          "is_active",
          "can_create_tokens",
          "can_verify_keys",
          "created_at"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "username": {
            "type": "string",
            "maxLength": 150,
            "pattern": "^[\\w.@+-]+$"
          },
          "is_superuser": {
            "type": "boolean"
          },
          "is_active": {
            "type": "boolean"
          },
          "can_create_tokens": {
            "type": "boolean"
          },
          "can_verify_keys": {
            "type": "boolean",
            "description": "Whether the user may call `POST /api/v1/keys/verify` for other services (superusers always may)."
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          }
        }
      },
      "LoginResult": {
        "type": "object",
        "required": [
          "token",
          "token_type",
          "expires_at",
          "csrf_token",
          "user"
        ],
        "properties": {
          "token": {
            "type": "string",
            "description": "The login JWT, for `Authorization: Bearer`.",
            "maxLength": 4096,
            "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"
          },
          "token_type": {
            "type": "string",
            "const": "Bearer"
          },
          "expires_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "csrf_token": {
            "type": "string",
            "description": "Send it in `X-CSRF-Token` on unsafe requests made with the session cookie.",
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9_-]+$"
          },
          "user": {
            "$ref": "#/components/schemas/User"
          }
        }
      },
      "Whoami": {
        "type": "object",
        "required": [
          "user",
          "auth"
        ],
        "properties": {
          "user": {
            "$ref": "#/components/schemas/User"
          },
          "auth": {
            "type": "object",
            "required": [
              "method",
              "token_id",
              "expires_at",
              "write_enabled"
            ],
            "properties": {
              "method": {
                "$ref": "#/components/schemas/AuthMethod"
              },
              "token_id": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "The key or session used; null for Basic.",
                "format": "uuid",
                "maxLength": 36
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "write_enabled": {
                "type": "boolean"
              }
            }
          }
        }
      },
      "ApiToken": {
        "type": "object",
        "required": [
          "id",
          "token",
          "created_at",
          "expires",
          "created_by_id"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "token": {
            "type": "string",
            "maxLength": 256,
            "pattern": "^[A-Za-z0-9_.~+/=-]+$"
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "expires": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "created_by_id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          }
        }
      },
      "TokenCheckRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "token"
        ],
        "properties": {
          "token": {
            "type": "string",
            "maxLength": 512
          }
        }
      },
      "TokenCheckResult": {
        "type": "object",
        "required": [
          "success",
          "user_id"
        ],
        "properties": {
          "success": {
            "type": "boolean"
          },
          "user_id": {
            "type": [
              "string",
              "null"
            ],
            "format": "uuid",
            "maxLength": 36
          }
        }
      },
      "Key": {
        "type": "object",
        "required": [
          "id",
          "name",
          "start",
          "user_id",
          "write_enabled",
          "is_active",
          "expires_at",
          "allowed_ips",
          "created_at",
          "updated_at",
          "last_used_at",
          "last_used_ip",
          "created_via",
          "rotated_from_id",
          "rate_limit",
          "permissions"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "name": {
            "type": "string",
            "maxLength": 100
          },
          "start": {
            "type": "string",
            "description": "The visible start of the key, to recognise it.",
            "maxLength": 32,
            "pattern": "^[A-Za-z0-9_.~+/=-]*$"
          },
          "user_id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "write_enabled": {
            "type": "boolean"
          },
          "is_active": {
            "type": "boolean"
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "maxLength": 64
          },
          "allowed_ips": {
            "type": "array",
            "description": "Client addresses or CIDR ranges the key may be used from; empty means any.",
            "items": {
              "type": "string",
              "maxLength": 64,
              "pattern": "^[0-9A-Fa-f:.]+(/\\d{1,3})?$"
            },
            "maxItems": 50
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "updated_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "last_used_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "description": "Updated in batches, a few seconds after use.",
            "maxLength": 64
          },
          "last_used_ip": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 64,
            "pattern": "^[0-9A-Fa-f:.]*$"
          },
          "created_via": {
            "type": "string",
            "enum": [
              "api",
              "get_api_token",
              "rotation",
              "cli"
            ]
          },
          "rotated_from_id": {
            "type": [
              "string",
              "null"
            ],
            "description": "The key this one replaced by rotation.",
            "format": "uuid",
            "maxLength": 36
          },
          "rate_limit": {
            "oneOf": [
              {
                "$ref": "#/components/schemas/RateLimitSetting"
              },
              {
                "type": "null"
              }
            ],
            "description": "The key's own rate limit, or null for the server's default."
          },
          "permissions": {
            "$ref": "#/components/schemas/Permissions"
          }
        }
      },
      "CreatedKey": {
        "allOf": [
          {
            "$ref": "#/components/schemas/Key"
          },
          {
            "type": "object",
            "required": [
              "key"
            ],
            "properties": {
              "key": {
                "type": "string",
                "description": "The key itself. It is shown this once and cannot be retrieved again.",
                "maxLength": 256,
                "pattern": "^[A-Za-z0-9_.~+/=-]+$"
              }
            }
          }
        ]
      },
      "KeyPage": {
        "type": "object",
        "required": [
          "count",
          "next",
          "previous",
          "results"
        ],
        "properties": {
          "count": {
            "type": "integer",
            "description": "How many keys match, over all pages.",
            "format": "int64",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "next": {
            "type": [
              "string",
              "null"
            ],
            "description": "The path and query of the next page, relative to this server (never built from the request's Host).",
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "previous": {
            "type": [
              "string",
              "null"
            ],
            "description": "The path and query of the previous page, relative to this server.",
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Key"
            },
            "maxItems": 200
          }
        }
      },
      "KeyCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "name"
        ],
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100
          },
          "key": {
            "type": "string",
            "minLength": 32,
            "maxLength": 256,
            "pattern": "^[A-Za-z0-9_.~+/=-]+$",
            "description": "Supply the key yourself (to restore a deleted one). At least 32 characters."
          },
          "write_enabled": {
            "type": "boolean",
            "description": "Whether the key may make unsafe requests (POST, PATCH, DELETE). When left out: true."
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "description": "When the key stops working; must be in the future. Null for never.",
            "maxLength": 64
          },
          "allowed_ips": {
            "type": "array",
            "maxItems": 50,
            "uniqueItems": true,
            "items": {
              "type": "string",
              "maxLength": 64
            },
            "description": "Client addresses or CIDR ranges the key may be used from."
          },
          "rate_limit": {
            "$ref": "#/components/schemas/RateLimitSetting"
          },
          "permissions": {
            "description": "What the key may do; left out or null, everything its owner may do. A key that\ncreates a key passes on at most its own permissions (and its own when none are\nasked for).\n",
            "oneOf": [
              {
                "$ref": "#/components/schemas/PermissionList"
              },
              {
                "type": "null"
              }
            ]
          }
        }
      },
      "KeyUpdate": {
        "type": "object",
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100
          },
          "write_enabled": {
            "type": "boolean",
            "description": "Can only go from true to false."
          },
          "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "Can only be set on a key without expiry, or moved earlier.",
            "maxLength": 64
          },
          "allowed_ips": {
            "type": "array",
            "maxItems": 50,
            "uniqueItems": true,
            "minItems": 1,
            "items": {
              "type": "string",
              "maxLength": 64
            },
            "description": "Can only be set on an unrestricted key, or lose entries."
          },
          "permissions": {
            "description": "Can only be set on a key without permissions (null), or lose entries.",
            "allOf": [
              {
                "$ref": "#/components/schemas/PermissionList"
              }
            ]
          }
        }
      },
      "PermissionList": {
        "type": "array",
        "description": "Permission strings: lowercase letters, digits, `.`, `_`, `-` and `:`, at most 64\ncharacters each, at most 50; `*` stands for one whole segment (the parts between `.`\nand `:`), as in `archive.*:read`. Latchkey's own operations need `profile:read`,\n`profile:write`, `keys:read`, `keys:write`, `keys:verify`, `admin:read` or `admin:write`;\nevery other string is the business of the services that verify keys.\n",
        "maxItems": 50,
        "uniqueItems": true,
        "items": {
          "type": "string",
          "minLength": 1,
          "maxLength": 64,
          "pattern": "^[a-z0-9._:*-]+$"
        }
      },
      "Permissions": {
        "description": "What the key may do; null for everything its owner may do, empty for nothing.",
        "oneOf": [
          {
            "$ref": "#/components/schemas/PermissionList"
          },
          {
            "type": "null"
          }
        ]
      },
      "VerifyRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "key"
        ],
        "properties": {
          "key": {
            "type": "string",
            "minLength": 1,
            "maxLength": 512,
            "pattern": "^[\\x21-\\x7e]+$",
            "description": "The key a client presented to the calling service."
          },
          "permissions": {
            "allOf": [
              {
                "$ref": "#/components/schemas/PermissionList"
              }
            ],
            "description": "Permissions the key must hold, all of them."
          },
          "method": {
            "type": "string",
            "minLength": 1,
            "maxLength": 16,
            "pattern": "^[A-Za-z]+$",
            "description": "The client's HTTP method; an unsafe one (not GET, HEAD or OPTIONS) with a read-only key is `READ_ONLY`."
          },
          "client_ip": {
            "type": "string",
            "minLength": 2,
            "maxLength": 45,
            "pattern": "^[0-9A-Fa-f:.]+$",
            "description": "The client's address, checked against the key's allowed addresses."
          },
          "cost": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 1000,
            "description": "What the request takes from the key's rate limit. When left out: 1; 0 checks without spending."
          }
        }
      },
      "VerifyResult": {
        "type": "object",
        "required": [
          "valid",
          "code",
          "key_id",
          "owner",
          "permissions",
          "write_enabled",
          "expires_at",
          "ratelimit"
        ],
        "properties": {
          "valid": {
            "type": "boolean"
          },
          "code": {
            "type": "string",
            "enum": [
              "VALID",
              "NOT_FOUND",
              "DISABLED",
              "EXPIRED",
              "INSUFFICIENT_PERMISSIONS",
              "READ_ONLY",
              "IP_NOT_ALLOWED",
              "RATE_LIMITED",
              "INVALID_FORMAT"
            ],
            "description": "Why the key is or is not valid for this request (docs/verify.md explains each)."
          },
          "key_id": {
            "type": [
              "string",
              "null"
            ],
            "format": "uuid",
            "maxLength": 36,
            "description": "Null when no key was found."
          },
          "owner": {
            "oneOf": [
              {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              {
                "type": "null"
              }
            ]
          },
          "permissions": {
            "$ref": "#/components/schemas/Permissions"
          },
          "write_enabled": {
            "type": [
              "boolean",
              "null"
            ]
          },
          "expires_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "maxLength": 64
          },
          "ratelimit": {
            "description": "The key's rate limit after this request; null when it was not counted (the key was refused first).",
            "oneOf": [
              {
                "type": "object",
                "required": [
                  "limit",
                  "remaining",
                  "reset"
                ],
                "properties": {
                  "limit": {
                    "type": "integer",
                    "format": "int32",
                    "minimum": 1,
                    "maximum": 1000000
                  },
                  "remaining": {
                    "type": "integer",
                    "format": "int32",
                    "minimum": 0,
                    "maximum": 1000000
                  },
                  "reset": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0,
                    "maximum": 9007199254740991,
                    "description": "When the window resets, in seconds since the epoch."
                  }
                }
              },
              {
                "type": "null"
              }
            ]
          }
        }
      },
      "KeyRotate": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "grace_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 86400,
            "description": "How long the old key keeps working, in seconds. When left out: 0, it stops at once.",
            "format": "int32"
          }
        }
      },
      "BootstrapStatus": {
        "type": "object",
        "required": [
          "needs_bootstrap",
          "has_db_keys"
        ],
        "properties": {
          "needs_bootstrap": {
            "type": "boolean",
            "description": "True while no user and no key exist."
          },
          "has_db_keys": {
            "type": "boolean",
            "description": "Whether any key exists."
          }
        }
      },
      "RegisterKey": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "api_key"
        ],
        "properties": {
          "api_key": {
            "type": "string",
            "minLength": 32,
            "maxLength": 256,
            "pattern": "^[A-Za-z0-9_.~+/=-]+$",
            "description": "The key to register, at least 32 characters."
          },
          "label": {
            "type": "string",
            "maxLength": 100,
            "description": "A name for the key."
          }
        }
      },
      "RegisteredKey": {
        "type": "object",
        "required": [
          "detail",
          "key_id",
          "user_id"
        ],
        "properties": {
          "detail": {
            "type": "string",
            "maxLength": 256
          },
          "key_id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "user_id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          }
        }
      },
      "UserPage": {
        "type": "object",
        "required": [
          "count",
          "next",
          "previous",
          "results"
        ],
        "properties": {
          "count": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "next": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "previous": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/User"
            },
            "maxItems": 200
          }
        }
      },
      "PasswordChange": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "current_password",
          "new_password"
        ],
        "properties": {
          "current_password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "description": "The password the user has now."
          },
          "new_password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "description": "The new password; the server's password rules apply."
          }
        }
      },
      "UserCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "username",
          "password"
        ],
        "properties": {
          "username": {
            "type": "string",
            "minLength": 1,
            "maxLength": 150,
            "pattern": "^[\\w.@+-]+$"
          },
          "password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024
          },
          "is_superuser": {
            "type": "boolean",
            "description": "Whether the user is a superuser. When left out: false."
          },
          "can_create_tokens": {
            "type": "boolean",
            "description": "Whether the user may create API keys. When left out: true."
          },
          "can_verify_keys": {
            "type": "boolean",
            "description": "Whether the user may verify keys for other services. When left out: false."
          }
        }
      },
      "UserUpdate": {
        "type": "object",
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
          "is_superuser": {
            "type": "boolean"
          },
          "is_active": {
            "type": "boolean"
          },
          "can_create_tokens": {
            "type": "boolean"
          },
          "can_verify_keys": {
            "type": "boolean"
          }
        }
      },
      "PasswordReset": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "password"
        ],
        "properties": {
          "password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024
          }
        }
      },
      "Lockout": {
        "type": "object",
        "required": [
          "address",
          "locked_until"
        ],
        "properties": {
          "address": {
            "type": "string",
            "maxLength": 64,
            "pattern": "^[0-9A-Fa-f:.]*$"
          },
          "locked_until": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          }
        }
      },
      "LockoutList": {
        "type": "object",
        "required": [
          "results"
        ],
        "properties": {
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Lockout"
            }
          }
        }
      },
      "AuditAction": {
        "type": "string",
        "enum": [
          "auth.login",
          "auth.logout",
          "auth.failed",
          "auth.locked_out",
          "auth.bootstrap",
          "token.issued",
          "key.created",
          "key.updated",
          "key.rotated",
          "key.activated",
          "key.deactivated",
          "key.deleted",
          "user.created",
          "user.updated",
          "user.password_reset",
          "user.password_changed",
          "user.deleted",
          "lockout.cleared",
          "webhook.created",
          "webhook.updated",
          "webhook.deleted",
          "webhook.secret_rotated",
          "webhook.tested",
          "webhook.redelivered",
          "webhook.disabled"
        ]
      },
      "AuditOutcome": {
        "type": "string",
        "enum": [
          "success",
          "failure"
        ]
      },
      "AuditEvent": {
        "type": "object",
        "required": [
          "id",
          "at",
          "action",
          "outcome",
          "actor_id",
          "actor_username",
          "client_ip",
          "target_type",
          "target_id",
          "detail"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "action": {
            "$ref": "#/components/schemas/AuditAction"
          },
          "outcome": {
            "$ref": "#/components/schemas/AuditOutcome"
          },
          "actor_id": {
            "type": [
              "string",
              "null"
            ],
            "description": "The user who acted, when known.",
            "format": "uuid",
            "maxLength": 36
          },
          "actor_username": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 150,
            "pattern": "^[\\w.@+-]+$"
          },
          "client_ip": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 64,
            "pattern": "^[0-9A-Fa-f:.]*$"
          },
          "target_type": {
            "type": [
              "string",
              "null"
            ],
            "enum": [
              "key",
              "user",
              "address",
              "webhook",
              null
            ]
          },
          "target_id": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 64,
            "pattern": "^[0-9A-Fa-f:.-]*$"
          },
          "detail": {
            "type": [
              "string",
              "null"
            ],
            "description": "A short, secret-free description.",
            "maxLength": 500
          }
        }
      },
      "AuditPage": {
        "type": "object",
        "required": [
          "count",
          "next",
          "previous",
          "results"
        ],
        "properties": {
          "count": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "next": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "previous": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AuditEvent"
            },
            "maxItems": 200
          }
        }
      },
      "WebhookEventType": {
        "type": "string",
        "description": "An event a webhook can subscribe to (see Webhooks for each one's payload).",
        "enum": [
          "key.created",
          "key.updated",
          "key.rotated",
          "key.activated",
          "key.deactivated",
          "key.deleted",
          "key.expiring",
          "key.expired",
          "user.created",
          "user.updated",
          "user.deleted",
          "user.password_changed",
          "auth.locked_out"
        ]
      },
      "WebhookEventList": {
        "type": "array",
        "description": "The events to receive, each once.",
        "minItems": 1,
        "maxItems": 13,
        "uniqueItems": true,
        "items": {
          "$ref": "#/components/schemas/WebhookEventType"
        }
      },
      "Webhook": {
        "type": "object",
        "required": [
          "id",
          "name",
          "description",
          "url",
          "events",
          "is_active",
          "created_by",
          "created_at",
          "updated_at",
          "disabled_reason",
          "previous_secret_expires_at"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "name": {
            "type": "string",
            "maxLength": 100
          },
          "description": {
            "type": "string",
            "maxLength": 500
          },
          "url": {
            "type": "string",
            "format": "uri",
            "maxLength": 2048,
            "pattern": "^https?://"
          },
          "events": {
            "description": "The events it receives; null for every event.",
            "oneOf": [
              {
                "$ref": "#/components/schemas/WebhookEventList"
              },
              {
                "type": "null"
              }
            ]
          },
          "is_active": {
            "type": "boolean",
            "description": "Only active webhooks get events."
          },
          "created_by": {
            "type": [
              "string",
              "null"
            ],
            "description": "The user who created it; null when the command line did.",
            "format": "uuid",
            "maxLength": 36
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "updated_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "disabled_reason": {
            "type": [
              "string",
              "null"
            ],
            "description": "Why Latchkey switched it off (its receiver answered 410 Gone); null otherwise.",
            "maxLength": 256
          },
          "previous_secret_expires_at": {
            "type": [
              "string",
              "null"
            ],
            "description": "Until when the secret it had before the last rotation signs too; null when none does.",
            "format": "date-time",
            "maxLength": 64
          }
        }
      },
      "WebhookWithSecret": {
        "allOf": [
          {
            "$ref": "#/components/schemas/Webhook"
          },
          {
            "type": "object",
            "required": [
              "secret"
            ],
            "properties": {
              "secret": {
                "type": "string",
                "description": "The signing secret. It is shown this once and cannot be read again; rotate it to get a new one.",
                "maxLength": 128,
                "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$"
              }
            }
          }
        ]
      },
      "WebhookPage": {
        "type": "object",
        "required": [
          "count",
          "next",
          "previous",
          "results"
        ],
        "properties": {
          "count": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "next": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "previous": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Webhook"
            },
            "maxItems": 200
          }
        }
      },
      "WebhookCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "name",
          "url"
        ],
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100
          },
          "url": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2048,
            "pattern": "^[^\\s]+$",
            "description": "Where events are sent, https (http only when the operator allows it)."
          },
          "description": {
            "type": "string",
            "maxLength": 500,
            "description": "What the webhook is for. When left out: empty."
          },
          "events": {
            "description": "The events to receive. When left out, or null: every event.",
            "oneOf": [
              {
                "$ref": "#/components/schemas/WebhookEventList"
              },
              {
                "type": "null"
              }
            ]
          },
          "is_active": {
            "type": "boolean",
            "description": "Whether it gets events. When left out: true."
          }
        }
      },
      "WebhookUpdate": {
        "type": "object",
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100
          },
          "url": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2048,
            "pattern": "^[^\\s]+$"
          },
          "description": {
            "type": "string",
            "maxLength": 500
          },
          "events": {
            "description": "The events to receive; null for every event.",
            "oneOf": [
              {
                "$ref": "#/components/schemas/WebhookEventList"
              },
              {
                "type": "null"
              }
            ]
          },
          "is_active": {
            "type": "boolean"
          }
        }
      },
      "WebhookSecretRotate": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "grace_seconds": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 604800,
            "description": "How long the old secret signs too, in seconds. When left out: 86400 (a day)."
          }
        }
      },
      "WebhookDeliveryStatus": {
        "type": "string",
        "description": "`pending` until an attempt got a 2xx (`delivered`) or the attempts ran out or the webhook was switched off (`failed`).",
        "enum": [
          "pending",
          "delivered",
          "failed"
        ]
      },
      "WebhookAttempt": {
        "type": "object",
        "required": [
          "number",
          "at",
          "duration_ms",
          "status_code",
          "outcome",
          "error",
          "response_body"
        ],
        "properties": {
          "number": {
            "type": "integer",
            "format": "int32",
            "minimum": 1,
            "maximum": 100
          },
          "at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "duration_ms": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 3600000
          },
          "status_code": {
            "type": [
              "integer",
              "null"
            ],
            "description": "The receiver's status; null when it did not answer.",
            "format": "int32",
            "minimum": 100,
            "maximum": 599
          },
          "outcome": {
            "type": "string",
            "description": "`delivered` (a 2xx), `http_error` (another status; redirects are not followed),\n`network_error` (no connection, no answer, a name that does not resolve), `timeout`,\n`refused` (the URL is not allowed, for example it resolves to a private address;\nnothing was sent) or `unsigned` (the secret cannot be read since the server secret\nchanged; nothing was sent).\n",
            "enum": [
              "delivered",
              "http_error",
              "network_error",
              "timeout",
              "refused",
              "unsigned"
            ]
          },
          "error": {
            "type": [
              "string",
              "null"
            ],
            "description": "What went wrong, in words.",
            "maxLength": 1024
          },
          "response_body": {
            "type": [
              "string",
              "null"
            ],
            "description": "The start of the receiver's answer (at most 1024 characters, ending in … when cut).",
            "maxLength": 1024
          }
        }
      },
      "WebhookDelivery": {
        "type": "object",
        "required": [
          "id",
          "webhook_id",
          "event_id",
          "event_type",
          "status",
          "attempt_count",
          "next_attempt_at",
          "created_at",
          "completed_at",
          "payload",
          "attempts"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "webhook_id": {
            "type": "string",
            "format": "uuid",
            "maxLength": 36
          },
          "event_id": {
            "type": "string",
            "description": "The event's `webhook-id`, the same for every attempt and redelivery.",
            "maxLength": 64,
            "pattern": "^msg_[0-9a-f]{32}$"
          },
          "event_type": {
            "type": "string",
            "enum": [
              "key.created",
              "key.updated",
              "key.rotated",
              "key.activated",
              "key.deactivated",
              "key.deleted",
              "key.expiring",
              "key.expired",
              "user.created",
              "user.updated",
              "user.deleted",
              "user.password_changed",
              "auth.locked_out",
              "webhook.test"
            ]
          },
          "status": {
            "$ref": "#/components/schemas/WebhookDeliveryStatus"
          },
          "attempt_count": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 100
          },
          "next_attempt_at": {
            "type": [
              "string",
              "null"
            ],
            "description": "When the next attempt is due; null once delivered or failed.",
            "format": "date-time",
            "maxLength": 64
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64
          },
          "completed_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "maxLength": 64
          },
          "payload": {
            "$ref": "#/components/schemas/WebhookEvent"
          },
          "attempts": {
            "type": "array",
            "description": "Oldest first.",
            "items": {
              "$ref": "#/components/schemas/WebhookAttempt"
            },
            "maxItems": 100
          }
        }
      },
      "WebhookDeliveryPage": {
        "type": "object",
        "required": [
          "count",
          "next",
          "previous",
          "results"
        ],
        "properties": {
          "count": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "next": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "previous": {
            "type": [
              "string",
              "null"
            ],
            "maxLength": 16384,
            "format": "uri-reference"
          },
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/WebhookDelivery"
            },
            "maxItems": 200
          }
        }
      },
      "KeyCreatedEvent": {
        "type": "object",
        "description": "A key was created (by its owner, an administrator, the command line, get_api_token or bootstrap).",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.created"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              }
            }
          }
        }
      },
      "KeyUpdatedEvent": {
        "type": "object",
        "description": "A key was renamed or narrowed.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.updated"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via",
              "changes"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              },
              "changes": {
                "type": "array",
                "description": "The fields that changed.",
                "items": {
                  "type": "string",
                  "maxLength": 64,
                  "pattern": "^[a-z_]+$"
                },
                "maxItems": 16
              }
            }
          }
        }
      },
      "KeyRotatedEvent": {
        "type": "object",
        "description": "A key was rotated: a new key replaced it, and it keeps working until the end of the grace period.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.rotated"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via",
              "replaced_by",
              "grace_seconds"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              },
              "replaced_by": {
                "type": "object",
                "description": "The key that replaced this one (its expiry is now the end of the grace period).",
                "required": [
                  "id",
                  "start"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "start": {
                    "type": "string",
                    "maxLength": 32,
                    "pattern": "^[A-Za-z0-9_.~+/=-]*$"
                  }
                }
              },
              "grace_seconds": {
                "type": "integer",
                "format": "int32",
                "minimum": 0,
                "maximum": 86400
              }
            }
          }
        }
      },
      "KeyActivatedEvent": {
        "type": "object",
        "description": "A deactivated key was activated again.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.activated"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              }
            }
          }
        }
      },
      "KeyDeactivatedEvent": {
        "type": "object",
        "description": "A key was deactivated; it stops working at once.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.deactivated"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              }
            }
          }
        }
      },
      "KeyDeletedEvent": {
        "type": "object",
        "description": "A key was deleted; it stops working at once.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.deleted"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              }
            }
          }
        }
      },
      "KeyExpiringEvent": {
        "type": "object",
        "description": "An active key entered a warning window before its expiry: 7 days before by default (LATCHKEY_WEBHOOK_EXPIRING_DAYS), and 1 day before. Sent once per key, window and expiry, across restarts and instances; a key inside both windows at once gets one event, for the nearer.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.expiring"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via",
              "threshold_days"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              },
              "threshold_days": {
                "type": "integer",
                "description": "The warning window the key entered, in days before its expiry (7 by default and 1).",
                "format": "int32",
                "minimum": 1,
                "maximum": 365
              }
            }
          }
        }
      },
      "KeyExpiredEvent": {
        "type": "object",
        "description": "An active key reached its expiry. Sent once per key and expiry.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "key.expired"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "name",
              "start",
              "owner",
              "expires_at",
              "is_active",
              "write_enabled",
              "created_via"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "name": {
                "type": "string",
                "maxLength": 100
              },
              "start": {
                "type": "string",
                "description": "The visible start of the key. Never the key itself or its digest.",
                "maxLength": 32,
                "pattern": "^[A-Za-z0-9_.~+/=-]*$"
              },
              "owner": {
                "type": "object",
                "required": [
                  "id",
                  "username"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid",
                    "maxLength": 36
                  },
                  "username": {
                    "type": "string",
                    "maxLength": 150,
                    "pattern": "^[\\w.@+-]+$"
                  }
                }
              },
              "expires_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "maxLength": 64
              },
              "is_active": {
                "type": "boolean"
              },
              "write_enabled": {
                "type": "boolean"
              },
              "created_via": {
                "type": "string",
                "enum": [
                  "api",
                  "get_api_token",
                  "rotation",
                  "cli"
                ]
              }
            }
          }
        }
      },
      "UserCreatedEvent": {
        "type": "object",
        "description": "A user was created.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "user.created"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "username",
              "is_superuser",
              "is_active",
              "can_create_tokens",
              "can_verify_keys"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "username": {
                "type": "string",
                "maxLength": 150,
                "pattern": "^[\\w.@+-]+$"
              },
              "is_superuser": {
                "type": "boolean"
              },
              "is_active": {
                "type": "boolean"
              },
              "can_create_tokens": {
                "type": "boolean"
              },
              "can_verify_keys": {
                "type": "boolean"
              }
            }
          }
        }
      },
      "UserUpdatedEvent": {
        "type": "object",
        "description": "A user's flags changed (superuser, active, may create keys, may verify keys).",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "user.updated"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "username",
              "is_superuser",
              "is_active",
              "can_create_tokens",
              "can_verify_keys",
              "changes"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "username": {
                "type": "string",
                "maxLength": 150,
                "pattern": "^[\\w.@+-]+$"
              },
              "is_superuser": {
                "type": "boolean"
              },
              "is_active": {
                "type": "boolean"
              },
              "can_create_tokens": {
                "type": "boolean"
              },
              "can_verify_keys": {
                "type": "boolean"
              },
              "changes": {
                "type": "array",
                "description": "The fields that changed.",
                "items": {
                  "type": "string",
                  "maxLength": 64,
                  "pattern": "^[a-z_]+$"
                },
                "maxItems": 16
              }
            }
          }
        }
      },
      "UserDeletedEvent": {
        "type": "object",
        "description": "A user was deleted, with their keys and sessions.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "user.deleted"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "username",
              "is_superuser",
              "is_active",
              "can_create_tokens",
              "can_verify_keys"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "username": {
                "type": "string",
                "maxLength": 150,
                "pattern": "^[\\w.@+-]+$"
              },
              "is_superuser": {
                "type": "boolean"
              },
              "is_active": {
                "type": "boolean"
              },
              "can_create_tokens": {
                "type": "boolean"
              },
              "can_verify_keys": {
                "type": "boolean"
              }
            }
          }
        }
      },
      "UserPasswordChangedEvent": {
        "type": "object",
        "description": "A user's password changed: by the user, or set by an administrator.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "user.password_changed"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "id",
              "username",
              "is_superuser",
              "is_active",
              "can_create_tokens",
              "can_verify_keys",
              "by_administrator"
            ],
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "username": {
                "type": "string",
                "maxLength": 150,
                "pattern": "^[\\w.@+-]+$"
              },
              "is_superuser": {
                "type": "boolean"
              },
              "is_active": {
                "type": "boolean"
              },
              "can_create_tokens": {
                "type": "boolean"
              },
              "can_verify_keys": {
                "type": "boolean"
              },
              "by_administrator": {
                "type": "boolean",
                "description": "True when an administrator (or the command line) set it; false when the user changed their own."
              }
            }
          }
        }
      },
      "AuthLockedOutEvent": {
        "type": "object",
        "description": "A client address was locked out after too many failed authentications.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "auth.locked_out"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "address",
              "locked_until",
              "failures"
            ],
            "properties": {
              "address": {
                "type": "string",
                "maxLength": 64,
                "pattern": "^[0-9A-Fa-f:.]+$"
              },
              "locked_until": {
                "type": "string",
                "format": "date-time",
                "maxLength": 64
              },
              "failures": {
                "type": "integer",
                "description": "Failed authentications that started the lockout.",
                "format": "int32",
                "minimum": 1,
                "maximum": 100000
              }
            }
          }
        }
      },
      "WebhookTestEvent": {
        "type": "object",
        "description": "The test event of POST /api/v1/webhooks/{webhook_id}/test.",
        "required": [
          "type",
          "timestamp",
          "data"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "webhook.test"
          },
          "timestamp": {
            "type": "string",
            "description": "When it happened.",
            "format": "date-time",
            "maxLength": 64
          },
          "data": {
            "type": "object",
            "required": [
              "webhook_id",
              "message"
            ],
            "properties": {
              "webhook_id": {
                "type": "string",
                "format": "uuid",
                "maxLength": 36
              },
              "message": {
                "type": "string",
                "maxLength": 256
              }
            }
          }
        }
      },
      "WebhookEvent": {
        "description": "Any event Latchkey sends; `type` tells which.",
        "oneOf": [
          {
            "$ref": "#/components/schemas/KeyCreatedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyUpdatedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyRotatedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyActivatedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyDeactivatedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyDeletedEvent"
          },
          {
            "$ref": "#/components/schemas/KeyExpiringEvent"
          },
          {
            "$ref": "#/components/schemas/KeyExpiredEvent"
          },
          {
            "$ref": "#/components/schemas/UserCreatedEvent"
          },
          {
            "$ref": "#/components/schemas/UserUpdatedEvent"
          },
          {
            "$ref": "#/components/schemas/UserDeletedEvent"
          },
          {
            "$ref": "#/components/schemas/UserPasswordChangedEvent"
          },
          {
            "$ref": "#/components/schemas/AuthLockedOutEvent"
          },
          {
            "$ref": "#/components/schemas/WebhookTestEvent"
          }
        ],
        "discriminator": {
          "propertyName": "type",
          "mapping": {
            "key.created": "#/components/schemas/KeyCreatedEvent",
            "key.updated": "#/components/schemas/KeyUpdatedEvent",
            "key.rotated": "#/components/schemas/KeyRotatedEvent",
            "key.activated": "#/components/schemas/KeyActivatedEvent",
            "key.deactivated": "#/components/schemas/KeyDeactivatedEvent",
            "key.deleted": "#/components/schemas/KeyDeletedEvent",
            "key.expiring": "#/components/schemas/KeyExpiringEvent",
            "key.expired": "#/components/schemas/KeyExpiredEvent",
            "user.created": "#/components/schemas/UserCreatedEvent",
            "user.updated": "#/components/schemas/UserUpdatedEvent",
            "user.deleted": "#/components/schemas/UserDeletedEvent",
            "user.password_changed": "#/components/schemas/UserPasswordChangedEvent",
            "auth.locked_out": "#/components/schemas/AuthLockedOutEvent",
            "webhook.test": "#/components/schemas/WebhookTestEvent"
          }
        }
      },
      "RateLimitSetting": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "limit",
          "window_s"
        ],
        "description": "A key's own rate limit, instead of the server's default.",
        "properties": {
          "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000,
            "format": "int32"
          },
          "window_s": {
            "type": "integer",
            "minimum": 1,
            "maximum": 86400,
            "format": "int32"
          }
        }
      }
    }
  }
} as unknown as ContractDocument;
