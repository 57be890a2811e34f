import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { meshProtos, serviceClient } from './proto.js';

describe('meshProtos', () => {
  const cases: [string, { service: grpc.ServiceDefinition }, string[]][] = [
    ['discovery', meshProtos().discovery, ['Stream', 'Status', 'ConfigDump']],
    ['ca', meshProtos().ca, ['CreateCertificate']],
    ['tokens', meshProtos().tokens, ['Create', 'List', 'Revoke']],
  ];
  it.each(cases)('%s: the service declares exactly the typed client methods', (_name, ctor, methods) => {
    expect(Object.keys(ctor.service).sort()).toEqual([...methods].sort());
  });

  it('gives clients whose typed methods are callable functions', () => {
    const creds = grpc.credentials.createInsecure();
    const client = new (meshProtos().discovery)('127.0.0.1:9', creds);
    try {
      expect([typeof client.Stream, typeof client.Status, typeof client.ConfigDump]).toEqual([
        'function',
        'function',
        'function',
      ]);
    } finally {
      client.close();
    }
  });
});

describe('serviceClient', () => {
  const method = (name: string): grpc.MethodDefinition<object, object> => ({
    path: `/a.v1.S/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: () => ({}),
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: () => ({}),
  });
  const S = grpc.makeClientConstructor({ Get: method('Get') }, 'a.v1.S');
  const messageType: grpc.ProtobufTypeDefinition = {
    format: 'Protocol Buffer 3 DescriptorProto',
    type: {},
    fileDescriptorProtos: [],
  };
  const pkg: grpc.GrpcObject = { a: { v1: { S, Msg: messageType } } };

  it('returns the constructor at a dotted name that has every listed method', () => {
    expect(serviceClient<grpc.Client & { Get: unknown }>(pkg, 'a.v1.S', ['Get'])).toBe(S);
  });

  const refused: [string, string, string[], RegExp][] = [
    ['a name that is not there', 'a.v1.Other', [], /no service a\.v1\.Other/],
    ['a name below a constructor', 'a.v1.S.Get', [], /no service a\.v1\.S\.Get/],
    ['a message type, not a service', 'a.v1.Msg', [], /no service a\.v1\.Msg/],
    ['a service without a listed method', 'a.v1.S', ['Get', 'Put'], /service a\.v1\.S lacks Put/],
  ];
  it.each(refused)('refuses %s', (_case, name, methods, message) => {
    expect(() => serviceClient<grpc.Client & Record<string, unknown>>(pkg, name, methods)).toThrow(message);
  });
});
