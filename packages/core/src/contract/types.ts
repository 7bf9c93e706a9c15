// The parts of an OpenAPI 3.1 document the mock reads.

/** A JSON Schema (2020-12) as the contract writes it. */
export type JsonSchema = Record<string, unknown>;

export interface ContractHeader {
  required?: boolean;
  schema?: JsonSchema;
  $ref?: string;
}

export interface ContractResponse {
  $ref?: string;
  description?: string;
  headers?: Record<string, ContractHeader>;
  content?: Record<string, { schema?: JsonSchema }>;
}

export interface ContractParameter {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface ContractOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: ContractParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, ContractResponse>;
}

export type PathItem = Partial<Record<HttpMethod, ContractOperation>> & { parameters?: ContractParameter[] };

export type HttpMethod = 'get' | 'put' | 'post' | 'patch' | 'delete' | 'head' | 'options';

export interface ContractDocument {
  openapi: string;
  info: { title: string; version: string };
  security?: Record<string, string[]>[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, ContractResponse>;
    parameters: Record<string, ContractParameter>;
    headers: Record<string, ContractHeader>;
    securitySchemes: Record<string, unknown>;
  };
}
